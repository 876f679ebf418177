// Attack class: exit tricks. Guest exit()/process.exit() — with weird codes,
// inside catch/finally, promise jobs, async code, getters during copy, guest
// functions called by the host — must surface as SystemExit on the host, stop
// the guest (no later statement's effect escapes), and never exit or signal the
// host process.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SystemExit } from "../../src/index.js";
import { assertHostClean, assertUsableOrDisposed, attempt, sandbox } from "./helpers.js";

const hostCalls: string[] = [];
const saved: Record<string, unknown> = {};
before(() => {
  for (const k of ["exit", "reallyExit", "abort", "kill"] as const) {
    saved[k] = (process as unknown as Record<string, unknown>)[k];
    (process as unknown as Record<string, unknown>)[k] = (...args: unknown[]) => { hostCalls.push(`${k}(${args.join(",")})`); throw new Error(`host process.${k} called by guest`); };
  }
});
after(() => {
  for (const k of Object.keys(saved)) (process as unknown as Record<string, unknown>)[k] = saved[k];
  assert.deepEqual(hostCalls, [], "the guest reached the host's process.exit/abort/kill");
});

const cases: Array<[string, string, number | "any"]> = [
  ["exit()", "exit()", 0],
  ["exit(7)", "exit(7)", 7],
  ["process.exit(3)", "process.exit(3)", 3],
  ["exit(256)", "exit(256)", "any"],
  ["exit(-1)", "exit(-1)", "any"],
  ["exit(1.5)", "exit(1.5)", "any"],
  ["exit(NaN)", "exit(NaN)", "any"],
  ["exit('3')", "exit('3')", "any"],
  ["exit(2 ** 53)", "exit(2 ** 53)", "any"],
  ["exit(Infinity)", "exit(Infinity)", "any"],
  ["exit(1n)", "exit(1n)", "any"],
  ["exit({ valueOf })", "exit({ valueOf() { return 9 } })", "any"],
  ["exit in try, swallowed by catch", "try { exit(2) } catch (e) {} globalThis.after = 1; 'survived'", 2],
  ["exit in catch", "try { throw 1 } catch { exit(4) }", 4],
  ["exit in finally", "try { throw new Error('x') } finally { exit(5) }", 5],
  ["exit then a loop in finally", "try { exit(6) } finally { for (;;) {} }", 6],
  ["exit then a loop in catch", "try { exit(6) } catch { for (;;) {} }", 6],
  ["exit, catch, keep computing", "try { exit(8) } catch {} let s = 0; for (let i = 0; i < 1e9; i++) s += i; s", 8],
  ["exit, catch, allocate forever", "try { exit(8) } catch {} const a = []; for (;;) a.push('x'.repeat(1e5))", 8],
  ["exit inside a promise job", "Promise.resolve().then(() => exit(10)); 'returned'", 10],
  ["exit in a job, swallowed", "Promise.resolve().then(() => { try { exit(11) } catch {} }); 'returned'", 11],
  ["exit in an async function after await", "(async () => { await null; await null; exit(12) })()", 12],
  ["exit in an async function, rejection caught", "(async () => { try { await null; exit(13) } catch { return 'caught' } })()", 13],
  ["exit in a getter during copy", "({ get x() { exit(14) } })", 14],
  ["exit twice: first code wins", "try { exit(17) } catch {} exit(18)", 17],
  ["process.exit via a saved reference", "const e = process.exit; e.call(null, 19)", 19],
  ["exit via Reflect.apply", "Reflect.apply(exit, null, [20])", 20],
  ["exit inside a Proxy trap during copy", "new Proxy({}, { ownKeys() { exit(21) } })", 21],
  ["exit inside sort comparator", "[2, 1].sort(() => exit(22))", 22],
  ["exit from a generator's finally", "function* g() { try { yield 1 } finally { exit(23) } } for (const x of g()) break;", 23],
];

for (const [name, code, expected] of cases) {
  test(`exit trick: ${name}`, async () => {
    const sb = sandbox({ limits: { timeoutMs: 500, memoryBytes: 32 * 1024 * 1024 } });
    try {
      const r = await attempt(sb, code, 10_000);
      assert.ok(r.error instanceof SystemExit, `expected SystemExit, got ${r.error ? `${r.error.name}: ${r.error.message}` : `value ${String(r.value)}`}`);
      assert.equal(typeof r.error.code, "number");
      assert.ok(Number.isInteger(r.error.code));
      if (expected !== "any") assert.equal(r.error.code, expected);
      assert.ok(r.ms < 3000, `exit took ${r.ms.toFixed(0)} ms to take effect`);
      await assertUsableOrDisposed(sb);
      assert.deepEqual(hostCalls, []);
      assertHostClean();
    } finally {
      sb.dispose();
    }
  });
}

test("exit from a guest function called by the host surfaces as SystemExit on that call only", async () => {
  const sb = sandbox();
  try {
    const f = (await sb.r_eval("(code) => { exit(code) }")) as (c: number) => Promise<unknown>;
    await assert.rejects(f(31), (e) => e instanceof SystemExit && e.code === 31);
    assert.equal(await sb.r_eval("1 + 1"), 2);
  } finally {
    sb.dispose();
  }
});

test("exit while an async host function is pending", async () => {
  const sb = sandbox({ globals: { slow: () => new Promise((r) => setTimeout(() => r(1), 50)) } });
  try {
    const r = await attempt(sb, "(async () => { const p = slow(); exit(32); await p })()");
    assert.ok(r.error instanceof SystemExit && r.error.code === 32, String(r.error));
  } finally {
    sb.dispose();
  }
});

test("the guest's process has no way to signal or abort the host", async () => {
  const sb = sandbox();
  try {
    const r = await sb.r_eval("['abort', 'kill', 'reallyExit', 'dlopen', 'binding', '_linkedBinding', 'chdir', 'setuid', 'umask', 'emit', 'on', 'mainModule', 'pid'].filter((k) => k in process)");
    assert.deepEqual(r, []);
  } finally {
    sb.dispose();
  }
});

test("process.exitCode set by the guest does not change the host's exit code", async () => {
  const sb = sandbox();
  const prev = process.exitCode;
  process.exitCode = undefined;
  try {
    await sb.r_exec("process.exitCode = 42; Object.defineProperty(process, 'exitCode', { get() { return 43 } })");
    assert.equal(process.exitCode, undefined);
  } finally {
    process.exitCode = prev;
    sb.dispose();
  }
});

test("exit with a looping valueOf never reaches exit: a bounded TimeoutError", async () => {
  const sb = sandbox({ limits: { timeoutMs: 300 } });
  try {
    const r = await attempt(sb, "exit({ valueOf() { for (;;) {} } })");
    assert.equal(r.error?.name, "TimeoutError");
  } finally {
    sb.dispose();
  }
});

test("exit called from a getter of a thrown value (read while the host extracts the error) surfaces as SystemExit", {
}, async () => {
  const sb = sandbox();
  try {
    const r = await attempt(sb, "throw { get message() { exit(15) } }");
    assert.ok(r.error instanceof SystemExit && r.error.code === 15, String(r.error));
  } finally {
    sb.dispose();
  }
});
