// A new user's and a hostile script's view of the command line (issue 13 review):
// each test here was seen failing before its fix.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, symlinkSync, mkdtempSync, rmSync, statSync, writeFileSync, existsSync, mkdirSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, ptySession, rexec } from "./helpers.js";

const NODE_INTERNALS = /node:internal|node:events|dist\/cli|Unhandled 'error'/;

/** `node bin/rexec.js args | head -n 2` through a shell: stderr and rexec's own exit status. */
function intoHead(args: string[]): Promise<{ status: string; stdout: string; stderr: string }> {
  const quoted = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", `${quoted} | head -n 2; echo "status=\${PIPESTATUS[0]}" >&2`], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", () => resolve({ status: /status=(\d+)/.exec(stderr)?.[1] ?? "?", stdout, stderr: stderr.replace(/status=\d+\n?/, "") }));
  });
}

describe("rexec CLI review", { concurrency: 3 }, () => {
  let dir: string;
  before(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), "rexec-review-")));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("output piped into a reader that stops (| head) ends quietly: no EPIPE stack, like node", async () => {
    const logs = await intoHead(["eval", "for (let i = 0; i < 1e6; i++) console.log('line ' + i)"]);
    assert.equal(logs.stdout, "line 0\nline 1\n");
    assert.ok(!/EPIPE|Error/.test(logs.stderr) && !NODE_INTERNALS.test(logs.stderr), logs.stderr);
    assert.equal(logs.status, "0", logs.stderr);
    const writes = await intoHead(["eval", "--max-output", "100m", "--timeout", "20s", "const s = 'x'.repeat(1e5) + '\\n'; for (let i = 0; i < 1e4; i++) process.stdout.write(s)"]);
    assert.ok(!/EPIPE|Error/.test(writes.stderr) && !NODE_INTERNALS.test(writes.stderr), writes.stderr);
    assert.equal(writes.status, "0", writes.stderr);
  });

  test("a refusal after rexec flags given behind the script says they went to the script (issue 13's read-passwd case)", async () => {
    const r = await rexec(["run", "examples/read-passwd.js", "--allow-read", "/etc"]);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /--allow-read=\/etc\/passwd/);
    assert.match(r.stderr, /note: "--allow-read" came after the script/);
    const limit = await rexec(["eval", "for(;;);", "--timeout", "5s"]);
    assert.equal(limit.code, 3, limit.stderr);
    assert.match(limit.stderr, /note: "--timeout" came after the code/);
    const plain = await rexec(["run", "examples/read-passwd.js", "--verbose-ish"]);
    assert.equal(plain.code, 7);
    assert.ok(!/note:/.test(plain.stderr), plain.stderr);
  });

  test("short permission flags take a value after = like the long ones (-R=<path>, -W=<path>, -E=<NAME>)", async () => {
    writeFileSync(join(dir, "short.txt"), "short\n");
    const r = await rexec(["eval", `-R=${dir}`, `-W=${dir}`, "-E=HOME", `const fs = require("fs"); fs.writeFileSync(${JSON.stringify(join(dir, "w.txt"))}, "w"); console.log(fs.readFileSync(${JSON.stringify(join(dir, "short.txt"))}, "utf8").trim(), typeof process.env.HOME)`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "short string\n");
    assert.ok(existsSync(join(dir, "w.txt")));
  });

  test("a script that starts with a shebang line runs (.js, .cjs, .ts), like node", async () => {
    for (const ext of ["js", "cjs", "ts", "mjs"]) {
      const file = join(dir, `shebang.${ext}`);
      writeFileSync(file, "#!/usr/bin/env rexec\nconsole.log('ran ' + 1)\n");
      const r = await rexec(["run", file]);
      assert.equal(r.code, 0, `${ext}: ${r.stderr}`);
      assert.equal(r.stdout, "ran 1\n", ext);
    }
  });

  test("fs.mkdirSync(p, { recursive: true }) creates the missing parents inside a granted directory, and only there", async () => {
    const out = join(dir, "out");
    mkdirSync(out);
    const r = await rexec(["eval", `--allow-write=${out}`, `--allow-read=${out}`, `const fs = require("fs"); fs.mkdirSync(${JSON.stringify(join(out, "a/b/c"))}, { recursive: true }); fs.mkdirSync(${JSON.stringify(join(out, "a/b"))}, { recursive: true }); fs.writeFileSync(${JSON.stringify(join(out, "a/b/c/x.txt"))}, "x"); console.log(JSON.stringify(fs.readdirSync(${JSON.stringify(join(out, "a/b"))})))`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '["c"]\n');
    assert.ok(existsSync(join(out, "a/b/c/x.txt")));
    // Write access alone is enough (node needs no read of the parents either), in worker mode too.
    const writeOnly = await rexec(["eval", "--isolate=worker", `-W=${out}`, `const fs = require("fs"); fs.mkdirSync(${JSON.stringify(join(out, "w/x/y"))}, { recursive: true }); fs.mkdirSync(${JSON.stringify(join(out, "w/x"))}, { recursive: true })`]);
    assert.equal(writeOnly.code, 0, writeOnly.stderr);
    assert.ok(existsSync(join(out, "w/x/y")));
    const onFile = await rexec(["eval", `-W=${out}`, `-R=${out}`, `require("fs").mkdirSync(${JSON.stringify(join(out, "a/b/c/x.txt"))}, { recursive: true })`]);
    assert.equal(onFile.code, 1, onFile.stderr);
    assert.match(onFile.stderr, /EEXIST/);
    const outside = await rexec(["eval", `--allow-write=${out}`, `require("fs").mkdirSync(${JSON.stringify(join(dir, "no/such"))}, { recursive: true })`]);
    assert.equal(outside.code, 7, outside.stderr);
    assert.match(outside.stderr, /--allow-write=/);
    assert.ok(!existsSync(join(dir, "no")));
  });

  test("eval -p and the REPL print a guest Error as node does (its name, message and stack), not as the host's GuestError", async () => {
    const r = await rexec(["eval", "-p", "new TypeError('boom')"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^TypeError: boom\n    at /);
    assert.ok(!/GuestError/.test(r.stdout), r.stdout);
    const nested = await rexec(["eval", "-p", "({ e: new RangeError('inner') })"]);
    assert.match(nested.stdout, /RangeError: inner/);
    assert.ok(!/GuestError/.test(nested.stdout), nested.stdout);
    const repl = await rexec(["repl"], { input: "new Error('in repl')\n" });
    assert.match(repl.stdout, /^Error: in repl\n    at /m);
    assert.ok(!/GuestError/.test(repl.stdout), repl.stdout);
  });

  test("a limit out of the library's range is a usage error naming the flag (exit 2), not an internal error", async () => {
    for (const [flag, value] of [["--stack", "1"], ["--memory", "99999g"], ["--timeout", "99999h"], ["--max-output", "99999g"]] as const) {
      const r = await rexec(["eval", `${flag}=${value}`, "1"]);
      assert.equal(r.code, 2, `${flag}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^rexec: ${flag}: `), r.stderr);
      assert.ok(!/internal error|at /.test(r.stderr), r.stderr);
    }
    const repl = await rexec(["repl", "--stack=1"], { input: "1\n" });
    assert.equal(repl.code, 2, repl.stderr);
    assert.match(repl.stderr, /^rexec: --stack: /);
  });

  test("REPL on a terminal: Ctrl-C clears a half-typed line, warns once on an empty prompt, interrupts a running input; the history file is made private", async () => {
    const history = join(dir, "history");
    writeFileSync(history, "old entry\n", { mode: 0o644 });
    chmodSync(history, 0o644);
    const r = await ptySession(["repl", "--isolate=worker", "--timeout=60s"], [
      { after: /> $/, type: "12345" },
      { after: /12345$/, type: "\x03" },
      { after: /> $/, type: "6 * 7\r" },
      { after: /42[\s\S]*> $/, type: "\x03" },
      { after: /To exit, press Ctrl\+C again[\s\S]*> $/, type: "while (true) {}\r" },
      { after: /while \(true\) \{\}\n/, type: "\x03" },
      { after: /Interrupted \(Ctrl-C\)[\s\S]*> $/, type: "3 + 4\r" },
      { after: /7[\s\S]*> $/, type: ".exit\r" },
    ], { REXEC_REPL_HISTORY: history }, { timeoutMs: 20_000 });
    assert.equal(r.steps, 8, `the session ended early:\n${r.out}`);
    assert.equal(r.code, 0, r.out);
    assert.ok(!/12345\s*\n.*Uncaught/.test(r.out), r.out);
    assert.equal(statSync(history).mode & 0o777, 0o600);
  });

  test("eval without -p ignores the completion value, like node -e: a symbol, a WeakMap, a huge string or a getter is no error", async () => {
    for (const code of ["Symbol('x')", "new WeakMap()", "'x'.repeat(2e7)", "({ get x() { for (;;); } })"]) {
      const r = await rexec(["eval", code]);
      assert.equal(r.code, 0, `${code}: ${r.stderr}`);
      assert.equal(r.stderr, "", code);
    }
  });

  test("run - reads the script from stdin, like node - and deno run -", async () => {
    const r = await rexec(["run", "-", "an-arg"], { input: "console.log('from stdin', process.argv.slice(2).join(' '));\nprocess.exitCode = 5;\n" });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout, "from stdin an-arg\n");
    const bad = await rexec(["run", "-"], { input: "let a = 1;\nthrow new Error('boom')\n" });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^<stdin>:2:\d+\nthrow new Error\('boom'\)\n +\^/);
  });

  test("a bare --allow-read/--allow-write does not reach the process entries in /proc (environment, memory, open files) without -A, as in Deno", async () => {
    const env = { REXEC_REVIEW_SECRET: "s3cr3t" };
    for (const path of ["/proc/self/environ", "/proc/thread-self/environ", "/dev/fd/0", `/proc/${process.pid}/environ`]) {
      const r = await rexec(["eval", "-R", `const fs = require("fs"); console.log(fs.readFileSync(${JSON.stringify(path)}, "utf8").includes("s3cr3t"))`], { env });
      assert.equal(r.code, 7, `${path}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /rerun with --allow-all/, path);
    }
    const module = await rexec(["eval", "-R", "require('/proc/self/environ')"], { env });
    assert.equal(module.code, 7, module.stderr);
    const write = await rexec(["eval", "-W", "require('fs').writeFileSync('/proc/self/comm', 'x')"]);
    assert.equal(write.code, 7, write.stderr);
    assert.match(write.stderr, /--allow-all/);
    const all = await rexec(["eval", "-A", "console.log(require('fs').readFileSync('/proc/self/environ', 'utf8').includes('s3cr3t'))"], { env });
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, "true\n");
    const cpu = await rexec(["eval", "-R", "console.log(require('fs').readFileSync('/proc/cpuinfo', 'utf8').length > 0)"]);
    assert.equal(cpu.stdout, "true\n", cpu.stderr);
  });

  test("REPL: an entry left open across lines (an object, a class, a call, a comment) waits for its next line, like node", async () => {
    const input = "const o = {\n  a: 1,\n  b: [1,\n2]\n}\no.b\nclass A {\n  m() { return 5 }\n}\nnew A().m()\nMath.max(1, {\n  x: 2 }.x)\n/* a\ncomment */ 'after'\n({ 1a: 2 })\n3\n";
    const r = await rexec(["repl"], { input });
    assert.equal(r.stdout, "undefined\n[ 1, 2 ]\nundefined\n5\n2\n'after'\n3\n", r.stderr);
    assert.equal((r.stderr.match(/SyntaxError/g) ?? []).length, 1, r.stderr);
  });

  test("REPL history: a FIFO at the history path does not hang the REPL, and a symlink there is neither read nor written through", async () => {
    const fifo = join(dir, "fifo-history");
    execFileSync("mkfifo", [fifo]);
    const r = await ptySession(["repl"], [{ after: /> $/, type: "1 + 1\r" }, { after: /2[\s\S]*> $/, type: ".exit\r" }], { REXEC_REPL_HISTORY: fifo }, { timeoutMs: 20_000 });
    assert.equal(r.steps, 2, r.out);
    assert.equal(r.code, 0, r.out);
    const target = join(dir, "precious.txt");
    writeFileSync(target, "secret line\n");
    const link = join(dir, "link-history");
    symlinkSync(target, link);
    const s = await ptySession(["repl"], [{ after: /> $/, type: "\x1b[A\x1540 + 2\r" }, { after: /42[\s\S]*> $/, type: ".exit\r" }], { REXEC_REPL_HISTORY: link }, { timeoutMs: 20_000 });
    assert.equal(s.code, 0, s.out);
    assert.ok(!s.out.includes("secret line"), s.out);
    assert.equal(readFileSync(target, "utf8"), "secret line\n");
  });

  test("realm image cache: a FIFO in place of an image does not hang the command", async () => {
    const cache = join(dir, "cache");
    const env = { REXEC_CACHE_DIR: cache };
    const first = await rexec(["eval", "-p", "6 * 7"], { env });
    assert.equal(first.stdout, "42\n", first.stderr);
    const images = join(cache, "images");
    const [image] = readdirSync(images).filter((f) => f.endsWith(".img"));
    assert.ok(image, "an image was stored");
    rmSync(join(images, image));
    execFileSync("mkfifo", [join(images, image)]);
    const fifo = await Promise.race([rexec(["eval", "-p", "6 * 7"], { env }), new Promise<undefined>((r) => setTimeout(r, 10_000, undefined))]);
    assert.ok(fifo !== undefined, "hung on the FIFO");
    assert.equal(fifo.stdout, "42\n", fifo.stderr);
  });

  test("--check / rexec check reads no host file the run could not: types of an ungranted file do not leak into diagnostics", async () => {
    const secretDir = join(dir, "private");
    mkdirSync(secretDir);
    writeFileSync(join(secretDir, "secrets.ts"), 'export const KEY = "sk-SECRET-42";\n');
    const app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "helper.ts"), "export const two: number = 2;\n");
    writeFileSync(join(app, "leak.ts"), `import { KEY } from ${JSON.stringify(join(secretDir, "secrets.ts"))};\nimport { two } from "./helper.ts";\nconst n: typeof KEY = 1;\nconst m: string = two;\n`);
    const r = await rexec(["check", join(app, "leak.ts")]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!r.stderr.includes("sk-SECRET-42"), r.stderr);
    assert.match(r.stderr, /Type 'number' is not assignable to type 'string'/, "files beside the script are still checked");
    const granted = await rexec(["check", `--allow-read=${secretDir}`, join(app, "leak.ts")]);
    assert.match(granted.stderr, /sk-SECRET-42/, "a granted file is checked as usual");
  });

  test("an import refused by a --deny-read (or the /proc rule) names that, not an --allow-read that would not help", async () => {
    const proj = join(dir, "proj");
    mkdirSync(proj);
    writeFileSync(join(proj, "secret.js"), "module.exports = 'SECRET-MOD';\n");
    writeFileSync(join(proj, "main.js"), "console.log(require('./secret.js'));\n");
    const denied = await rexec(["run", `--deny-read=${join(proj, "secret.js")}`, join(proj, "main.js")]);
    assert.equal(denied.code, 7, denied.stderr);
    assert.match(denied.stderr, /denied by --deny-read=/);
    assert.match(denied.stderr, /rerun without --deny-read=/);
    assert.ok(!/rerun with --allow-read/.test(denied.stderr), denied.stderr);
    const proc = await rexec(["eval", "-R", "require('/proc/self/environ')"]);
    assert.equal(proc.code, 7, proc.stderr);
    assert.match(proc.stderr, /rerun with --allow-all/);
  });

  test("REPL Tab completion runs no guest getter along the dotted path (a looping getter cannot freeze the terminal)", async () => {
    const r = await ptySession(["repl", "--timeout=60s"], [
      { after: /> $/, type: "globalThis.trap = { get slow() { for (;;); }, fine: { zeta: 1 } }; let local = { alpha: 1 }; 0\r" },
      { after: /0[\s\S]*> $/, type: "trap.slow.\t" },
      { after: /trap\.slow\.$/, type: "\x15local.alp\t" },
      { after: /local\.alpha/, type: " + 1\r" },
      { after: /2[\s\S]*> $/, type: "trap.fine.ze\t" },
      { after: /trap\.fine\.zeta/, type: "\r" },
      { after: /1[\s\S]*> $/, type: ".exit\r" },
    ], { REXEC_REPL_HISTORY: "" });
    assert.equal(r.steps, 7, r.out);
    assert.equal(r.code, 0, r.out);
  });

  test("process.exitCode set by the guest is the exit status, as in node (run, eval, worker mode); a getter or a non-integer is ignored", async () => {
    const file = join(dir, "exitcode.js");
    writeFileSync(file, "process.exitCode = 3; setTimeout(() => console.log('timer ran'), 5);\n");
    const [run, evaluated, text, worker, odd, getter, thrown] = await Promise.all([
      rexec(["run", file]),
      rexec(["eval", "process.exitCode = 7"]),
      rexec(["eval", "process.exitCode = '9'"]),
      rexec(["eval", "--isolate=worker", "process.exitCode = 4"]),
      rexec(["eval", "process.exitCode = { valueOf() { return 5 } }"]),
      rexec(["eval", "Object.defineProperty(process, 'exitCode', { get() { for (;;); } })"]),
      rexec(["eval", "process.exitCode = 6; throw new Error('x')"]),
    ]);
    assert.equal(run.code, 3, run.stderr);
    assert.equal(run.stdout, "timer ran\n");
    assert.equal(evaluated.code, 7, evaluated.stderr);
    assert.equal(text.code, 9, text.stderr);
    assert.equal(worker.code, 4, worker.stderr);
    assert.equal(odd.code, 0, odd.stderr);
    assert.equal(getter.code, 0, getter.stderr);
    assert.equal(thrown.code, 1, thrown.stderr);
  });
});

