/**
 * Holes a red-team pass found in the host-never-dies work, each by class:
 * - leftover promise jobs after a stop each ran a native call before the
 *   engine's next poll: 1000 async chains sorting natively ran 127 s past a
 *   1 s deadline (also after exit());
 * - getters run while a result is copied out, each sorting natively, after a
 *   loop that left the poll counter high: 70 s past the deadline;
 * - failed imports of huge specifiers kept every host error (with the
 *   specifier) until the next call: the host died of V8 heap exhaustion;
 * - the CLI opened a guest-named file for a code frame with a blocking open:
 *   a frame naming a FIFO hung it for good.
 * Each case ran long or crashed on the main before the fix; the bounds here
 * are generous hang guards for a loaded CI machine.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { RExec, SystemExit, TimeoutError } from "../../src/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SORT_CHAINS = (size: string) =>
  `const a = Array.from({ length: ${size} }, (_, i) => (i * 7919) % 65536);\n` +
  "for (let c = 0; c < 1000; c++) (async () => { for (;;) { await null; a.slice().sort(); } })();\n";

test("leftover promise jobs after a timeout cannot run a native call each", async () => {
  using rx = new RExec({ limits: { timeoutMs: 300 } });
  const t0 = performance.now();
  await assert.rejects(rx.r_eval(SORT_CHAINS("2 ** 15") + "for (;;) {}"), TimeoutError);
  assert.ok(performance.now() - t0 < 8000, `took ${(performance.now() - t0).toFixed(0)} ms`);
});

test("leftover promise jobs after exit() cannot run a native call each", async () => {
  using rx = new RExec({ limits: { timeoutMs: 1000 } });
  const t0 = performance.now();
  await assert.rejects(rx.r_eval(SORT_CHAINS("2 ** 15") + "exit(0)"), SystemExit);
  assert.ok(performance.now() - t0 < 8000, `took ${(performance.now() - t0).toFixed(0)} ms`);
});

test("getters sorting natively during copy-out stop at the deadline", async () => {
  using rx = new RExec({ limits: { timeoutMs: 300 } });
  const code =
    "const a = Array.from({ length: 2 ** 17 }, (_, i) => (i * 7919) % 65536); const o = {};\n" +
    "for (let i = 0; i < 3000; i++) Object.defineProperty(o, 'k' + i, { enumerable: true, get() { a.slice().sort(); return 1 } });\n" +
    "for (let i = 0; i < 30000; i++) {}\no";
  const t0 = performance.now();
  await assert.rejects(rx.r_eval(code), TimeoutError);
  assert.ok(performance.now() - t0 < 5000, `took ${(performance.now() - t0).toFixed(0)} ms`);
});

test("a flood of failed imports of huge specifiers keeps host memory bounded (child process)", () => {
  const script = `
    import { RExec } from "./src/index.ts";
    const rx = new RExec({ limits: { timeoutMs: 1500 } });
    const code = '(async () => { const s = "x".repeat(4e6); for (;;) { try { await import(s) } catch {} } })()';
    const error = await rx.r_eval(code).catch((e) => e);
    gc();
    console.log(JSON.stringify({ name: error?.name, heapMB: process.memoryUsage().heapUsed / 2 ** 20 }));
  `;
  const child = spawnSync(process.execPath, ["--expose-gc", "--max-old-space-size=1024", "--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  assert.equal(child.status, 0, `host died: ${child.stderr.slice(-1500)}`);
  const report = JSON.parse(child.stdout.trim().split("\n").pop()!) as { name: string; heapMB: number };
  assert.equal(report.name, "TimeoutError");
  assert.ok(report.heapMB < 300, `host heap after the call: ${report.heapMB.toFixed(0)} MB`);
});

test("the CLI does not hang on a guest stack frame that names a FIFO", () => {
  const dir = mkdtempSync(join(tmpdir(), "rexec-fifo-"));
  execFileSync("mkfifo", [join(dir, "fifo")]);
  writeFileSync(join(dir, "main.js"), 'const e = new Error("boom"); e.stack = "Error: boom\\n    at evil (/fifo:1:1)"; throw e;\n');
  const child = spawnSync(process.execPath, [join(ROOT, "bin/rexec.js"), "run", join(dir, "main.js")], { encoding: "utf8", timeout: 30_000 });
  assert.equal(child.signal, null, "the CLI hung");
  assert.equal(child.status, 1);
  assert.match(child.stderr + child.stdout, /boom/);
});

test("guest paths and specifiers longer than PATH_MAX are refused before the host works on them", async () => {
  using rx = new RExec({ limits: { timeoutMs: 5000 } });
  const code = (op: string) => `(async () => { const fs = await import('fs'); const p = '/' + 'a/'.repeat(1e6); try { ${op}; return 'no error' } catch (e) { return String(e.code || e.name) + ': ' + e.message.slice(0, 80) } })()`;
  const t0 = performance.now();
  assert.match(String(await rx.r_eval(code("fs.readFileSync(p)"))), /ENAMETOOLONG/);
  assert.match(String(await rx.r_eval(code("await import(p)"))), /ENAMETOOLONG|longer than 4096/);
  assert.ok(performance.now() - t0 < 4000, `took ${(performance.now() - t0).toFixed(0)} ms`);
});
