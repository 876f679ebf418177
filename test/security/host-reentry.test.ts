/**
 * Host functions that call guest callbacks: the host survives every way the
 * callback fails, and host↔guest recursion ends in a clean error long before
 * the host's native stack runs out.
 *
 * Each case runs in a child process with Node's default unhandled-rejection
 * behaviour (a rejection rexec lets escape ends the child with code 1), and
 * the child's stderr must stay clean: no "Exception in PromiseRejectCallback"
 * (V8 out of stack while reporting a rejection), no unhandled rejection.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function runHost(globals: string, guest: string, mode: "thread" | "worker" = "thread"): { status: number | null; stdout: string; stderr: string } {
  const script = `
    import { RExec } from "./src/index.ts";
    const rx = new RExec({ ${mode === "worker" ? "worker: true," : ""} limits: { timeoutMs: 2000 }, globals: ${globals} });
    try { console.log("value", JSON.stringify(await rx.r_eval(${JSON.stringify(guest)}))); }
    catch (e) { console.log("caught", e.name, String(e.message).slice(0, 200)); }
    try { console.log("after", await rx.r_eval("1 + 1")); } catch (e) { console.log("after-caught", e.name); }
    await new Promise((resolve) => setTimeout(resolve, 300));
    rx.dispose();
    console.log("alive");
  `;
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

function assertClean(out: ReturnType<typeof runHost>): void {
  assert.equal(out.status, 0, `host died: ${out.stderr.slice(-2000)}`);
  assert.match(out.stdout, /alive/);
  assert.doesNotMatch(out.stderr, /PromiseRejectCallback|Unhandled|unhandled/);
}

const cases: Array<[string, string, string, RegExp]> = [
  ["an async host function awaiting a guest callback that recurses back into it", "{ rec: async (cb) => { await cb(); return 1 } }", "function f() { return rec(f) } f()", /caught GuestError .*nested more than 64 deep/],
  ["a sync host function calling a guest callback that recurses back into it", "{ rec: (cb) => { cb(); return 1 } }", "function f() { return rec(f) } f()", /value 1/],
  ["forEach(cb) with a callback that throws", "{ forEach: (cb) => { [1, 2, 3].forEach((x) => cb(x)) } }", "forEach(() => { throw new Error('cb') }); 'done'", /value "done"/],
  ["forEach(cb) with a callback that never settles", "{ forEach: (cb) => { [1, 2, 3].forEach((x) => cb(x)) } }", "forEach(() => new Promise(() => {})); 'done'", /value "done"/],
  ["forEach(cb) with a callback that exits", "{ forEach: (cb) => { [1, 2, 3].forEach((x) => cb(x)) } }", "forEach(() => exit(4)); 'done'", /caught SystemExit/],
  ["a callback that loops into the deadline", "{ call: (cb) => { cb(); return 'called' } }", "call(() => { for (;;) {} })", /caught TimeoutError/],
  ["a host function echoing a thenable", "{ echo: (x) => x }", "echo({ then() { throw 1 } })", /value \{\}/],
  ["a host function stringifying a hostile valueOf", "{ log: (x) => 'value: ' + x }", "log({ valueOf() { throw new Error('boom') } })", /value "value: \[object Object\]"/],
];

for (const [name, globals, guest, expected] of cases) {
  test(`host survives: ${name}`, () => {
    const out = runHost(globals, guest);
    assertClean(out);
    assert.match(out.stdout, expected);
    assert.match(out.stdout, /after 2/);
  });
}

test("host survives host↔guest recursion in worker mode", () => {
  const out = runHost("{ rec: async (cb) => { await cb(); return 1 } }", "function f() { return rec(f) } f()", "worker");
  assertClean(out);
  assert.match(out.stdout, /caught /);
});
