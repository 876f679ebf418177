// Deno-style permission flags, as a subprocess: granted host paths are seen as
// themselves, the guest's cwd is the real one, every refusal names the exact flag
// and path that would allow it (never a flag that was given for another path),
// and --deny-* wins over --allow-* and -A.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { rexec } from "./helpers.js";

let dir: string;
let server: Server;
let host: string;
before(async () => {
  server = createServer((req, res) => {
    const body = req.url === "/main.js" ? "import { n } from './lib.mjs';\nconsole.log('remote', n);\n" : req.url === "/lib.mjs" ? "export const n = 42;\n" : undefined;
    if (body === undefined) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "content-type": "text/javascript" }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = realpathSync(mkdtempSync(join(tmpdir(), "rexec-perm-")));
  mkdirSync(join(dir, "data"));
  mkdirSync(join(dir, "out"));
  mkdirSync(join(dir, "other"));
  writeFileSync(join(dir, "data", "x.txt"), "x-content");
  writeFileSync(join(dir, "data", "secret.txt"), "top secret");
  writeFileSync(join(dir, "outside.txt"), "outside");
  symlinkSync(join(dir, "outside.txt"), join(dir, "data", "link.txt"));
  writeFileSync(join(dir, "read.js"), "const fs = require('fs');\nfor (const p of process.argv.slice(2)) console.log(fs.readFileSync(p, 'utf8'));\n");
  writeFileSync(join(dir, "cwd.js"), "console.log(process.cwd());\n");
  writeFileSync(join(dir, "write.js"), [
    "const fs = require('fs');",
    "try { fs.writeFileSync(process.argv[2], 'written'); console.log('ok'); }",
    "catch (e) { if (e.code) console.log(e.code); else throw e; }",
  ].join("\n"));
  writeFileSync(join(dir, "env.js"), "console.log(JSON.stringify(process.env));\n");
  writeFileSync(join(dir, "remote.js"), "await import('http://127.0.0.1:9/mod.js');\n");
  writeFileSync(join(dir, "remote.mjs"), "await import('http://127.0.0.1:9/mod.js');\n");
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  server.close();
});

describe("permission flags", { concurrency: 4 }, () => {
  test("--allow-read=./data: the guest reads ./data/x.txt and the absolute path; its cwd is the real cwd", async () => {
    const r = await rexec(["run", "--allow-read=./data", "read.js", "./data/x.txt", join(dir, "data/x.txt"), "data/x.txt"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "x-content\nx-content\nx-content\n");
    const cwd = await rexec(["run", "cwd.js"], { cwd: dir });
    assert.equal(cwd.stdout, `${dir}\n`);
  });

  test("without a grant: exit 7 naming --allow-read=<that exact path>; a grant for another path is never repeated", async () => {
    const none = await rexec(["run", "read.js", "./data/x.txt"], { cwd: dir });
    assert.equal(none.code, 7, none.stderr);
    assert.ok(none.stderr.includes(`rerun with --allow-read=${join(dir, "data/x.txt")}`), none.stderr);
    const other = await rexec(["run", "--allow-read=./other", "read.js", "/etc/passwd"], { cwd: dir });
    assert.equal(other.code, 7, other.stderr);
    assert.ok(other.stderr.includes("rerun with --allow-read=/etc/passwd"), other.stderr);
    assert.ok(!other.stderr.includes("--allow-read=./other") && !other.stderr.includes(`--allow-read=${join(dir, "other")}`), other.stderr);
    assert.equal(other.stdout, "");
  });

  test("worker mode: the same grants and the same exact refusal (also logged under -v)", async () => {
    const r = await rexec(["run", "-v", "--isolate=worker", "--allow-read=./data", "read.js", "./data/x.txt", "/etc/passwd"], { cwd: dir });
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, "x-content\n");
    assert.ok(r.stderr.includes("rerun with --allow-read=/etc/passwd"), r.stderr);
    assert.match(r.stderr, /^rexec: denied: read of \/etc\/passwd$/m);
  });

  test("a bare --allow-read grants all reads and does not take the next word", async () => {
    const r = await rexec(["run", "--allow-read", "read.js", "/etc/hostname", "./outside.txt"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /outside\n$/);
  });

  test("a symlink inside a granted directory that leads out is refused, naming its target", async () => {
    const r = await rexec(["run", "--allow-read=./data", "read.js", "./data/link.txt"], { cwd: dir });
    assert.equal(r.code, 7, r.stderr);
    assert.ok(r.stderr.includes(`--allow-read=${join(dir, "outside.txt")}`), r.stderr);
    assert.ok(!r.stdout.includes("outside"));
  });

  test("--deny-read wins over --allow-read and -A, and says which denial", async () => {
    for (const grant of ["--allow-read=./data", "-A"]) {
      const r = await rexec(["run", grant, "--deny-read=./data/secret.txt", "read.js", "./data/secret.txt"], { cwd: dir });
      assert.equal(r.code, 7, r.stderr);
      assert.ok(r.stderr.includes(`--deny-read=${join(dir, "data/secret.txt")}`), r.stderr);
      assert.ok(!r.stdout.includes("top secret"));
    }
  });

  test("--allow-write=./out: writes there; a missing subfolder is ENOENT; elsewhere names --allow-write=<path>", async () => {
    const ok = await rexec(["run", "--allow-write=./out", "write.js", "./out/a.txt"], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "ok\n");
    assert.equal(readFileSync(join(dir, "out/a.txt"), "utf8"), "written");
    const missing = await rexec(["run", "--allow-write=./out", "write.js", "./out/no/such/a.txt"], { cwd: dir });
    assert.equal(missing.code, 0, missing.stderr);
    assert.equal(missing.stdout, "ENOENT\n");
    const elsewhere = await rexec(["run", "--allow-write=./out", "write.js", "./b.txt"], { cwd: dir });
    assert.equal(elsewhere.code, 7);
    assert.ok(elsewhere.stderr.includes(`rerun with --allow-write=${join(dir, "b.txt")}`), elsewhere.stderr);
    assert.ok(!existsSync(join(dir, "b.txt")));
    const denied = await rexec(["run", "--allow-write", "--deny-write=./out", "write.js", "./out/c.txt"], { cwd: dir });
    assert.equal(denied.code, 7);
    assert.ok(!existsSync(join(dir, "out/c.txt")));
  });

  test("--allow-env bare (all, not taking the next word), =A,B, and --deny-env winning", async () => {
    const env = { REXEC_T_A: "a", REXEC_T_B: "b", REXEC_T_C: "c" };
    const bare = await rexec(["run", "--allow-env", "env.js"], { cwd: dir, env });
    assert.equal(bare.code, 0, bare.stderr);
    assert.equal(JSON.parse(bare.stdout).REXEC_T_C, "c");
    const two = await rexec(["run", "--allow-env=REXEC_T_A,REXEC_T_B", "env.js"], { cwd: dir, env });
    assert.deepEqual(JSON.parse(two.stdout), { REXEC_T_A: "a", REXEC_T_B: "b" });
    const deny = await rexec(["run", "-A", "--deny-env=REXEC_T_B", "env.js"], { cwd: dir, env });
    const seen = JSON.parse(deny.stdout);
    assert.equal(seen.REXEC_T_A, "a");
    assert.equal(seen.REXEC_T_B, undefined);
  });

  test("--allow-module refuses an unknown module with a usage error listing the known ones", async () => {
    const r = await rexec(["run", "--allow-module", "readline", "env.js"], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /unknown module "readline"; known modules: path, util, .*fs/);
  });

  test("without --allow-import a URL import fails naming the flag (script and module)", async () => {
    for (const file of ["remote.js", "remote.mjs"]) {
      const r = await rexec(["run", file], { cwd: dir });
      assert.equal(r.code, 7, `${file}: ${r.stderr}`);
      assert.match(r.stderr, /--allow-import=127\.0\.0\.1:9/);
    }
  });

  test("--allow-import=<host>: a URL script and a local script's URL import; refused without it or when denied", async () => {
    const url = `http://${host}/main.js`;
    const ok = await rexec(["run", `--allow-import=${host}`, url], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "remote 42\n");
    const bare = await rexec(["run", "--allow-import", url], { cwd: dir });
    assert.equal(bare.stdout, "remote 42\n", bare.stderr);
    writeFileSync(join(dir, "uses-remote.mjs"), `const m = await import("http://${host}/lib.mjs");\nconsole.log(m.n);\n`);
    const local = await rexec(["run", `--allow-import=${host}`, "uses-remote.mjs"], { cwd: dir });
    assert.equal(local.stdout, "42\n", local.stderr);
    const refused = await rexec(["run", url], { cwd: dir });
    assert.equal(refused.code, 7);
    assert.ok(refused.stderr.includes(`rerun with --allow-import=${host}`), refused.stderr);
    const denied = await rexec(["run", "-A", `--deny-import=${host}`, "uses-remote.mjs"], { cwd: dir });
    assert.equal(denied.code, 7);
    assert.ok(denied.stderr.includes(`denied by --deny-import=${host}`), denied.stderr);
  });

  test("--allow-net=<host> lets the guest fetch from that host only; --deny-net removes it; without it the error names --allow-net", async () => {
    const code = `const r = await fetch("http://${host}/lib.mjs"); console.log(r.status, (await r.text()).trim())`;
    const ok = await rexec(["eval", `--allow-net=${host}`, code], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "200 export const n = 42;\n");
    const none = await rexec(["eval", code], { cwd: dir });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /--allow-net/);
    const denied = await rexec(["eval", `--allow-net=${host}`, `--deny-net=${host}`, code], { cwd: dir });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /--allow-net/);
    // As Deno: a host without a port is that host on any port; another port named is not this one.
    const hostname = host.replace(/:\d+$/, "");
    const anyPort = await rexec(["eval", `--allow-net=${hostname}`, code], { cwd: dir });
    assert.equal(anyPort.code, 0, anyPort.stderr);
    assert.equal(anyPort.stdout, "200 export const n = 42;\n");
    const otherPort = await rexec(["eval", `--allow-net=${hostname}:1`, code], { cwd: dir });
    assert.equal(otherPort.code, 1);
    assert.match(otherPort.stderr, /--allow-net/);
    const deniedHost = await rexec(["eval", `--allow-net=${hostname}`, `--deny-net=${hostname}`, code], { cwd: dir });
    assert.equal(deniedHost.code, 1);
    const bareDeny = await rexec(["eval", "-A", `--deny-net=${host}`, "1"], { cwd: dir });
    assert.equal(bareDeny.code, 2);
    assert.match(bareDeny.stderr, /cannot narrow a bare --allow-net/);
  });

  test("--allow-net and --deny-net together are accepted; a directory as the script hints at the = form", async () => {
    const net = await rexec(["run", "--allow-net=example.com", "--deny-net=example.com", "cwd.js"], { cwd: dir });
    assert.equal(net.code, 0, net.stderr);
    const hint = await rexec(["run", "--allow-read", "./data", "cwd.js"], { cwd: dir });
    assert.equal(hint.code, 2);
    assert.match(hint.stderr, /--allow-read=\.\/data/);
  });
});
