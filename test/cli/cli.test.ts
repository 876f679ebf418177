// The rexec command line, driven as a subprocess: exit codes per failure kind,
// output, stdin, denials naming their flag, TypeScript error positions.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rexec } from "./helpers.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "rexec-cli-"));
  writeFileSync(join(dir, "hello.js"), "console.log('hi', process.argv.slice(2).join(' '));\n");
  writeFileSync(join(dir, "throws.ts"), [
    "interface Point { x: number; y: number }",
    "type Id = string;",
    "",
    "function check(p: Point, id: Id): void {",
    "  if (p.x < 0) throw new RangeError(`negative x for ${id}`);",
    "}",
    "check({ x: -1, y: 2 } as Point, 'p1');",
    "",
  ].join("\n"));
  writeFileSync(join(dir, "loop.js"), "for (;;) {}\n");
  writeFileSync(join(dir, "mem.js"), "const a = []; for (;;) a.push('x'.repeat(1000) + a.length);\n");
  writeFileSync(join(dir, "deep.js"), "function r(n) { return r(n + 1) + 1; }\nr(0);\n");
  writeFileSync(join(dir, "noisy.js"), "for (;;) console.log('0123456789');\n");
  writeFileSync(join(dir, "exit.js"), "process.exit(42);\nconsole.log('not reached');\n");
  writeFileSync(join(dir, "missing-import.js"), "require('./not-there.js');\n");
  writeFileSync(join(dir, "child.js"), "require('child_process');\n");
  writeFileSync(join(dir, "env.js"), "console.log(JSON.stringify(process.env));\n");
  writeFileSync(join(dir, "stdin.mjs"), "const text = await process.stdin.text();\nconsole.log(text.trim().split('\\n').map(Number).reduce((a, b) => a + b, 0));\n");
  writeFileSync(join(dir, "stdin-events.js"), "let n = 0;\nprocess.stdin.on('data', (c) => { n += c.length; });\nprocess.stdin.on('end', () => console.log('bytes', n));\n");
  mkdirSync(join(dir, "out"));
  writeFileSync(join(dir, "write.js"), "require('fs').writeFileSync(process.argv[2], 'written');\nconsole.log('ok');\n");
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("rexec", { concurrency: 4 }, () => {
  test("--help documents the exit codes; --version prints the package version", async () => {
    const help = await rexec(["--help"]);
    assert.equal(help.code, 0);
    for (const line of ["3   timeout", "7   access denied", "2   usage error"]) assert.ok(help.stdout.includes(line), line);
    const version = await rexec(["--version"]);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    assert.equal(version.stdout.trim(), `rexec ${pkg.version}`);
  });

  test("run prints output and passes arguments in process.argv", async () => {
    const r = await rexec(["run", join(dir, "hello.js"), "a", "--b"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hi a --b\n");
  });

  test("the README's example runs", async () => {
    const r = await rexec(["run", "examples/hello.js"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hello, world/);
  });

  test("eval -p prints the value; eval alone prints only what the code logs (like node -e / -p)", async () => {
    assert.equal((await rexec(["eval", "-p", "1 + 2"])).stdout, "3\n");
    assert.equal((await rexec(["eval", "--print", "({ a: [1, 2] })"])).stdout, "{ a: [ 1, 2 ] }\n");
    const quiet = await rexec(["eval", "console.log('logged'); 1 + 2"]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, "logged\n");
  });

  test("eval reads stdin like run, and has require", async () => {
    const r = await rexec(["eval", "-p", "process.stdin.text()"], { input: "hi\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hi\n\n");
    const req = await rexec(["eval", "-p", "require('path').join('a', 'b')"]);
    assert.equal(req.stdout, "a/b\n", req.stderr);
    const local = await rexec(["eval", `--allow-read=${dir}`, "-p", "require('./hello.js'); 1"], { cwd: dir });
    assert.equal(local.code, 0, local.stderr);
    assert.equal(local.stdout, "hi \n1\n");
  });

  test("usage errors exit 2", async () => {
    assert.equal((await rexec([])).code, 2);
    assert.equal((await rexec(["frobnicate"])).code, 2);
    assert.equal((await rexec(["--no-such-flag", "eval", "1"])).code, 2);
    const bad = await rexec(["--memory", "lots", "eval", "1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--memory/);
  });

  test("a guest error exits 1 and points at the TypeScript line with a caret", async () => {
    const r = await rexec(["run", join(dir, "throws.ts")]);
    assert.equal(r.code, 1);
    const lines = r.stderr.split("\n");
    // Deno's model: the guest's files are named by their real paths.
    assert.equal(lines[0]!.replace(/:\d+$/, ""), `${dir}/throws.ts:5`);
    assert.equal(lines[1], "  if (p.x < 0) throw new RangeError(`negative x for ${id}`);");
    assert.match(lines[2]!, /^ +\^$/);
    assert.match(r.stderr, /RangeError: negative x for p1/);
    assert.ok(r.stderr.includes(`at check (${dir}/throws.ts:5:`), r.stderr);
    assert.ok(r.stderr.includes(`at ${dir}/throws.ts:7:`), r.stderr);
    assert.ok(!/node:internal|dist\//.test(r.stderr), "no host frames");
  });

  test("each limit has its own exit code and names its flag", async () => {
    const [timeout, memory, stack, output] = await Promise.all([
      rexec(["--timeout", "200ms", "run", join(dir, "loop.js")]),
      rexec(["--memory", "8m", "--timeout", "10s", "run", join(dir, "mem.js")]),
      rexec(["--stack", "64k", "--timeout", "30s", "run", join(dir, "deep.js")]),
      rexec(["--max-output", "1k", "--timeout", "30s", "run", join(dir, "noisy.js")]),
    ]);
    for (const r of [timeout, memory, stack, output]) assert.ok(r.code !== 70, r.stderr);
    assert.equal(timeout.code, 3);
    assert.match(timeout.stderr, /TimeoutError.*200 ms[\s\S]*--timeout/);
    assert.equal(memory.code, 4);
    assert.match(memory.stderr, /MemoryLimitError[\s\S]*--memory/);
    assert.equal(stack.code, 5);
    assert.match(stack.stderr, /StackLimitError[\s\S]*--stack/);
    assert.equal(output.code, 6);
    assert.match(output.stderr, /OutputLimitError[\s\S]*--max-output/);
  });

  test("the guest's exit code is the process's", async () => {
    const r = await rexec(["run", join(dir, "exit.js")]);
    assert.equal(r.code, 42);
    assert.equal(r.stdout, "");
  });

  test("--isolate=worker runs the script off the main thread with the same results and exit codes", async () => {
    const ok = await rexec(["run", "--isolate=worker", join(dir, "hello.js"), "from", "worker"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "hi from worker\n");
    assert.equal((await rexec(["run", "--isolate=worker", join(dir, "exit.js")])).code, 42);
    assert.equal((await rexec(["run", "--isolate=worker", "--timeout", "200ms", join(dir, "loop.js")])).code, 3);
  });

  test("any guest exit code becomes a valid process status (wrapped like POSIX), never a host crash", async () => {
    for (const [code, status] of [["2 ** 53", 1], ["-5", 251], ["300", 44], ["1.5", 1]] as const) {
      const r = await rexec(["eval", `exit(${code})`]);
      assert.equal(r.code, status, `exit(${code}): ${r.stderr}`);
      assert.ok(!/ERR_OUT_OF_RANGE|at process/.test(r.stderr), r.stderr);
    }
  });

  test("module or script not found exits 8", async () => {
    assert.equal((await rexec(["run", join(dir, "nope.js")])).code, 8);
    assert.equal((await rexec(["eval", "import('nope')"])).code, 8);
  });

  test("reading /etc/passwd is refused with exit 7 and names --allow-read", async () => {
    const r = await rexec(["run", "examples/read-passwd.js"]);
    assert.equal(r.code, 7);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /access denied: read access to \/etc\/passwd/);
    assert.match(r.stderr, /rerun with --allow-read=\/etc\/passwd$/m);
  });

  test("a denied module that no flag can allow says so, listing the modules --allow-module knows", async () => {
    const r = await rexec(["run", join(dir, "child.js")]);
    assert.equal(r.code, 7);
    assert.match(r.stderr, /builtin module "child_process"/);
    assert.match(r.stderr, /no flag allows it: the sandbox has no "child_process" module \(available: path, util, .*fs\)/);
    assert.ok(!r.stderr.includes("--allow-module child_process"), r.stderr);
  });

  test("--allow-write allows writes in that directory only", async () => {
    const ok = await rexec([`--allow-write=${join(dir, "out")}`, "run", join(dir, "write.js"), join(dir, "out/a.txt")]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(readFileSync(join(dir, "out", "a.txt"), "utf8"), "written");
    const elsewhere = await rexec([`--allow-write=${join(dir, "out")}`, "run", join(dir, "write.js"), join(dir, "b.txt")]);
    assert.equal(elsewhere.code, 7);
    assert.ok(elsewhere.stderr.includes(`write access to ${join(dir, "b.txt")}`) && elsewhere.stderr.includes(`--allow-write=${join(dir, "b.txt")}`), elsewhere.stderr);
    assert.ok(!existsSync(join(dir, "b.txt")));
    const none = await rexec(["run", join(dir, "write.js"), join(dir, "out/c.txt")]);
    assert.equal(none.code, 7);
    assert.ok(!existsSync(join(dir, "out", "c.txt")));
  });

  test("--allow-env shows only the named variables", async () => {
    const env = { REXEC_T_A: "a", REXEC_T_B: "b" };
    const without = await rexec(["run", join(dir, "env.js")], { env });
    assert.equal(without.code, 0, without.stderr);
    assert.deepEqual(JSON.parse(without.stdout), {});
    const withA = await rexec(["--allow-env=REXEC_T_A", "run", join(dir, "env.js")], { env });
    assert.equal(withA.code, 0, withA.stderr);
    assert.deepEqual(JSON.parse(withA.stdout), { REXEC_T_A: "a" });
  });

  test("stdin is piped into the guest", async () => {
    const r = await rexec(["run", join(dir, "stdin.mjs")], { input: "1\n2\n3\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "6\n");
    const big = "x".repeat(200_000);
    const events = await rexec(["run", join(dir, "stdin-events.js")], { input: big });
    assert.equal(events.code, 0, events.stderr);
    assert.equal(events.stdout, "bytes 200000\n");
  });

  test("the examples run", async () => {
    const [plugin, formula, ts] = await Promise.all([
      rexec(["run", "examples/plugin/transform.js"], { input: readFileSync("examples/plugin/orders.json", "utf8") }),
      rexec(["run", "examples/formula/formula.js", "A1 * (B1 + 2)", "NOPE(1)"]),
      rexec(["run", "examples/ts-with-package/main.ts", "1", "2", "3", "10"]),
    ]);
    assert.equal(plugin.code, 0, plugin.stderr);
    assert.match(plugin.stdout, /^id,customer,total\n0003,alan turing,99\.99\n/);
    assert.equal(formula.code, 10);
    assert.match(formula.stdout, /A1 \* \(B1 \+ 2\) = 18/);
    assert.match(formula.stderr, /unknown function NOPE/);
    assert.equal(ts.code, 0, ts.stderr);
    assert.equal(ts.stdout, "n=4 min=1 max=10\nmean=4.000 median=2.5\n");
  });
});

// Host-side work on guest values and text (issue 10): what the CLI prints of a
// result or a thrown value is bounded, it runs no guest code to print it, and
// guest-chosen text cannot forge lines of its reports or logs.
describe("rexec prints guest values bounded and inert", { concurrency: 4 }, () => {
  const NODE_INTERNALS = /node:internal|triggerUncaughtException|at process\.|dist\//;

  test("a rejected or thrown value with a throwing toJSON prints the guest's value and exits 1", async () => {
    for (const code of [
      "Promise.reject({ toJSON() { throw new Error('x') } })",
      "throw { toJSON() { throw new Error('x') } }",
      "throw { toString() { throw new Error('x') }, valueOf() { for (;;) {} } }",
    ]) {
      const r = await rexec(["eval", code]);
      assert.equal(r.code, 1, `${code}: ${r.stderr}`);
      assert.ok(!NODE_INTERNALS.test(r.stderr), `${code}: ${r.stderr}`);
      assert.ok(!r.stderr.includes("internal error"), r.stderr);
      assert.equal(r.stdout, "");
    }
  });

  test("a guest Error is reported as the guest error with its code frame, never a host stack", async () => {
    const r = await rexec(["eval", "[1].map(() => { throw new TypeError('bad ' + 'item') })"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^<eval>:1:\d+\n\[1\]\.map/);
    assert.match(r.stderr, /TypeError: bad item/);
    assert.ok(!NODE_INTERNALS.test(r.stderr), r.stderr);
  });

  test("--max-output bounds the printed result (a 20k-key object printed 318 KB before)", async () => {
    const r = await rexec(["--max-output", "1k", "--timeout", "10s", "eval", "-p", "var o = {}; for (var i = 0; i < 20000; i++) o['k' + i] = i; o"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Buffer.byteLength(r.stdout) <= 1024 + 100, `${Buffer.byteLength(r.stdout)} bytes`);
    assert.match(r.stdout, /output cut at 1024 bytes/);
    const s = await rexec(["--max-output", "1k", "eval", "-p", "'x'.repeat(100000)"]);
    assert.equal(s.code, 0, s.stderr);
    assert.ok(Buffer.byteLength(s.stdout) <= 1024 + 100, `${Buffer.byteLength(s.stdout)} bytes`);
  });

  test("the 7-level, 100-wide DAG result is printed bounded or refused, never 134 MB", async () => {
    const t = Date.now();
    const r = await rexec(["--max-output", "64k", "eval", "-p", "var a=[1];for(var i=0;i<7;i++){var b=[];for(var j=0;j<100;j++)b.push(a);a=b} a"]);
    assert.ok(r.code === 0 || r.code === 4, `${r.code}: ${r.stderr}`);
    assert.ok(Buffer.byteLength(r.stdout) <= 64 * 1024 + 100, `${Buffer.byteLength(r.stdout)} bytes`);
    assert.ok(!NODE_INTERNALS.test(r.stderr), r.stderr);
    assert.ok(Date.now() - t < 20_000, `${Date.now() - t} ms`); // hang guard (it took 15 s)
    // A DAG inside the result limits still prints bounded (3 levels of 100 printed 7.9 MB in 5 s).
    const small = await rexec(["--max-output", "64k", "--timeout", "10s", "eval", "-p", "var a=[1];for(var i=0;i<3;i++){var b=[];for(var j=0;j<60;j++)b.push(a);a=b} [a, a]"]);
    assert.ok(small.code === 0 || small.code === 4, `${small.code}: ${small.stderr}`);
    assert.ok(Buffer.byteLength(small.stdout) <= 64 * 1024 + 100, `${Buffer.byteLength(small.stdout)} bytes`);
  });

  test("a thrown DAG or huge value is reported bounded", async () => {
    const r = await rexec(["eval", "var a=[1];for(var i=0;i<4;i++){var b=[];for(var j=0;j<30;j++)b.push(a);a=b} throw a"]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Buffer.byteLength(r.stderr) <= 256 * 1024, `${Buffer.byteLength(r.stderr)} bytes`);
    const m = await rexec(["eval", "throw new Error('m'.repeat(3e6))"]);
    assert.equal(m.code, 1, m.stderr);
    assert.ok(Buffer.byteLength(m.stderr) <= 256 * 1024, `${Buffer.byteLength(m.stderr)} bytes`);
  });

  test("guest-chosen names and paths cannot forge lines in -v logs or error reports", async () => {
    const EVIL = "\\n[rexec] limit: forged\\x1b[2J";
    writeFileSync(join(dir, "forge.js"), [
      `try { require("fs").writeFileSync("/nope${EVIL}", "x") } catch {}`,
      `const e = new Error("m"); e.name = "N${EVIL}"; e.stack = "    at f${EVIL} (/forge.js:1:1)"; throw e;`,
    ].join("\n"));
    const r = await rexec(["-v", "--allow-module", "fs", "run", join(dir, "forge.js")]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!r.stderr.includes("\x1b"), JSON.stringify(r.stderr));
    assert.ok(!/^\[rexec\] limit: forged/m.test(r.stderr), r.stderr);
    assert.match(r.stderr, /^rexec: denied: write to \/nope\\n\[rexec\] limit: forged\\x1b\[2J$/m);
    // The flag a refusal suggests carries the guest's path: escaped the same way.
    writeFileSync(join(dir, "forge-write.js"), `require("fs").writeFileSync("/nope${EVIL}", "x")`);
    const w = await rexec(["run", join(dir, "forge-write.js")]);
    assert.equal(w.code, 7, w.stderr);
    assert.ok(!w.stderr.includes("\x1b"), JSON.stringify(w.stderr));
    assert.match(w.stderr, /^    to allow it: rerun with --allow-write=\/nope\\n\[rexec\] limit: forged\\x1b\[2J$/m);
  });

  test("a stray rejection carrying a rexec error (from guest code run implicitly) does not kill the CLI", async () => {
    // The library is meant to make this impossible; the CLI's own last line of defence is tested directly.
    const script = join(dir, "stray.mjs");
    writeFileSync(script, [
      `const { main } = await import(${JSON.stringify(new URL("../../dist/cli/main.js", import.meta.url).href)});`,
      `const { GuestError } = await import(${JSON.stringify(new URL("../../dist/index.js", import.meta.url).href)});`,
      `const code = await main(["eval", "-p", "1 + 1"]);`,
      `Promise.reject(new GuestError("Error", "x", "    at toJSON (<eval>:1:38)", []));`,
      `await new Promise((r) => setTimeout(r, 50));`,
      `process.exitCode = code;`,
    ].join("\n"));
    const { spawnSync } = await import("node:child_process");
    const r = spawnSync(process.execPath, [script], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "2\n");
    assert.ok(!NODE_INTERNALS.test(r.stderr), r.stderr);
  });

  test("a guest error with a hostile stack is reported as the guest error, exit 1", async () => {
    const r = await rexec(["eval", "var e = new Error('x'); e.stack = 'at ' + ' ('.repeat(32000); throw e"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^Error: x$/m);
    assert.ok(Buffer.byteLength(r.stderr) < 1000, r.stderr);
    // 20 such errors in a result took 100 s to copy out with the backtracking parser.
    const t = Date.now();
    const many = await rexec(["eval", "-p", "var l = []; for (var i = 0; i < 20; i++) { var e = new Error('x'); e.stack = 'at ' + ' ('.repeat(32000); l.push(e) } l"]);
    assert.equal(many.code, 0, many.stderr);
    assert.ok(Date.now() - t < 30_000, `${Date.now() - t} ms`); // hang guard
  });
});
