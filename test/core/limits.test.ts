import { test } from "node:test";
import assert from "node:assert/strict";
import {
  RExec, TimeoutError, MemoryLimitError, StackLimitError, OutputLimitError, DisposedError, SystemExit,
} from "../../src/index.js";

const fast = { timeoutMs: 300 };

async function expectUsable(rx: RExec): Promise<void> {
  if (!rx.alive) {
    await assert.rejects(rx.r_eval("1"), DisposedError);
    return;
  }
  assert.equal(await rx.r_eval("40 + 2"), 42);
}

for (const [name, code] of [
  ["while(true)", "while (true) {}"],
  ["for(;;) with try/catch swallowing", "for (;;) { try { for (;;) {} } catch (e) {} }"],
  ["async loop of awaits", "(async () => { for (;;) await null; })()"],
  ["promise-chain loop", "function f() { return Promise.resolve().then(f); } f(); 1"],
  ["microtask flood via queueMicrotask-like then", "const p = Promise.resolve(); (function loop() { p.then(loop); p.then(loop); })(); 1"],
  ["async tail loop", "async function g() { await null; return g(); } g()"],
  ["catch-and-retry after interrupt", "let n = 0; while (true) { try { while (true) n++; } catch { } finally { while (true) {} } }"],
] as const) {
  test(`timeout stops ${name}`, async () => {
    using rx = new RExec({ limits: fast });
    const started = performance.now();
    await assert.rejects(rx.r_eval(code), (e: unknown) => e instanceof TimeoutError && /timeoutMs \(300 ms\)/.test((e as Error).message));
    assert.ok(performance.now() - started < 5000, "stopped well before 5 s");
    await expectUsable(rx);
  });
}

test("a getter that loops while the host copies the result is stopped by the timeout", async () => {
  using rx = new RExec({ limits: fast });
  await assert.rejects(rx.r_eval("({ get x() { for (;;) {} } })"), TimeoutError);
  await assert.rejects(rx.r_eval("new Proxy({}, { ownKeys() { for (;;) {} } })"), TimeoutError);
  await expectUsable(rx);
});

test("time spent in host functions is not charged to the guest", async () => {
  using rx = new RExec({ limits: { timeoutMs: 100 }, globals: { slow: () => new Promise((r) => setTimeout(() => r("done"), 250)) } });
  assert.equal(await rx.r_eval("(async () => await slow())()"), "done");
});

test("a guest awaiting a promise that can never settle is told so instead of hanging", async () => {
  using rx = new RExec({ limits: fast });
  await assert.rejects(rx.r_eval("new Promise(() => {})"), /can never settle/);
  await expectUsable(rx);
});

for (const [name, code] of [
  ["'x'.repeat doubling", "globalThis.s = 'x'; for (;;) s = s.repeat(2);"],
  ["flattened string doubling", "globalThis.s = 'x'; for (;;) { s += s; s.indexOf('y'); }"],
  ["array of 1 MB strings", "globalThis.a = []; for (;;) a.push('x'.repeat(1e6) + a.length);"],
  ["many typed arrays", "globalThis.a = []; for (;;) a.push(new Float64Array(1e5));"],
  ["many small objects", "globalThis.a = []; for (let i = 0;; i++) a.push({ i, s: 'k' + i });"],
  ["arrays of arrays", "globalThis.a = []; for (;;) a.push(new Array(1e5).fill(1));"],
  ["one huge allocation", "new ArrayBuffer(1024 * 1024 * 1024)"],
] as const) {
  test(`memory cap stops ${name}`, async () => {
    const memoryBytes = 32 * 1024 * 1024;
    using rx = new RExec({ limits: { memoryBytes, timeoutMs: 20_000 } });
    const rssBefore = process.memoryUsage().rss;
    await assert.rejects(rx.r_eval(code), (e: unknown) => e instanceof MemoryLimitError && (e as MemoryLimitError).limit === "memoryBytes");
    const grew = process.memoryUsage().rss - rssBefore;
    // the cap plus the engine's 16 MiB baseline, with slack for the host's own allocations
    assert.ok(grew < 4 * memoryBytes, `host RSS grew by ${(grew / 1e6).toFixed(0)} MB`);
    await rx.r_exec("globalThis.a = undefined; globalThis.s = undefined");
    await expectUsable(rx);
  });
}

test("deep recursion ends in StackLimitError; the sandbox stays usable", async () => {
  using rx = new RExec();
  await assert.rejects(rx.r_eval("async function g() { await g(); } g()"), StackLimitError);
  await assert.rejects(rx.r_eval("function r(n) { return r(n + 1) + 1 } r(0)"), StackLimitError);
  await expectUsable(rx);
  assert.ok((await rx.r_eval("let d = 0; function g() { d++; g() } try { g() } catch {} d")) as number > 500, "real programs get real depth");
});

for (const [name, code] of [
  ["deeply nested source", "[".repeat(60000) + "]".repeat(60000)],
  ["deeply nested JSON.parse", "JSON.parse('['.repeat(100000) + ']'.repeat(100000))"],
  ["deeply nested JSON.stringify", "let a = []; for (let i = 0; i < 100000; i++) a = [a]; JSON.stringify(a)"],
] as const) {
  test(`${name} ends in StackLimitError, never a host crash`, async () => {
    const rx = new RExec();
    await assert.rejects(rx.r_eval(code), StackLimitError);
    await expectUsable(rx);
    rx.dispose();
  });
}

test("a result nested 100k deep is copied without recursion (or refused cleanly)", async () => {
  using rx = new RExec({ limits: { timeoutMs: 60_000 } });
  const deep = (await rx.r_eval("let a = [0]; for (let i = 0; i < 100000; i++) a = [a]; a")) as unknown[];
  let depth = 0;
  for (let cur: unknown = deep; Array.isArray(cur); cur = cur[0]) depth++;
  assert.equal(depth, 100001);
  // 50k objects (100k would pass resultBytes as estimated host heap: each may be a V8 dictionary).
  const objDeep = (await rx.r_eval("let o = {}; for (let i = 0; i < 50000; i++) o = { o }; o")) as Record<string, unknown>;
  assert.ok(objDeep && typeof objDeep.o === "object");
});

test("a host value nested 100k deep is copied in without recursion", async () => {
  let v: unknown = 0;
  for (let i = 0; i < 100000; i++) v = [v];
  using rx = new RExec({ globals: { v }, limits: { timeoutMs: 60_000 } });
  assert.equal(await rx.r_eval("let d = 0; for (let c = v; Array.isArray(c); c = c[0]) d++; d"), 100000);
});

test("results larger than resultBytes are refused with a typed error", async () => {
  using rx = new RExec({ limits: { resultBytes: 64 * 1024 } });
  await assert.rejects(rx.r_eval("'x'.repeat(100000)"), (e: unknown) => e instanceof MemoryLimitError && (e as MemoryLimitError).limit === "resultBytes");
  await assert.rejects(rx.r_eval("new Uint8Array(200000)"), (e: unknown) => e instanceof MemoryLimitError && (e as MemoryLimitError).limit === "resultBytes");
  await assert.rejects(rx.r_eval("Array.from({ length: 50000 }, (_, i) => i)"), MemoryLimitError);
  assert.equal(await rx.r_eval("'small'"), "small");
});

test("console floods end in OutputLimitError, output is captured up to the cap", async () => {
  using rx = new RExec({ limits: { outputBytes: 1000, timeoutMs: 2000 } });
  await assert.rejects(rx.r_exec("for (;;) console.log('spam spam spam')"), OutputLimitError);
  assert.ok(rx.output.stdout.length <= 1000 && rx.output.stdout.startsWith("spam"));
  await assert.rejects(rx.r_exec("for (;;) { try { console.log('x'.repeat(100)) } catch {} }"), OutputLimitError);
  await rx.r_exec("console.log('ok'); console.error('bad')");
  assert.deepEqual(rx.output, { stdout: "ok\n", stderr: "bad\n" });
});

test("exit(code) and process.exit(code) surface as SystemExit; the host never exits", async () => {
  using rx = new RExec();
  await assert.rejects(rx.r_eval("exit(3)"), (e: unknown) => e instanceof SystemExit && (e as SystemExit).code === 3);
  await assert.rejects(rx.r_eval("process.exit(4)"), (e: unknown) => e instanceof SystemExit && (e as SystemExit).code === 4);
  await assert.rejects(rx.r_eval("try { exit(5) } catch (e) {} 'kept going'"), (e: unknown) => e instanceof SystemExit && (e as SystemExit).code === 5);
  await assert.rejects(rx.r_eval("try { exit(6) } finally { for (;;) {} }"), (e: unknown) => e instanceof SystemExit && (e as SystemExit).code === 6);
  await assert.rejects(rx.r_eval("(async () => { await null; process.exit(7) })()"), (e: unknown) => e instanceof SystemExit && (e as SystemExit).code === 7);
  await assert.rejects(rx.r_eval("({ get x() { exit(8) } })"), (e: unknown) => e instanceof SystemExit && (e as SystemExit).code === 8);
  assert.equal(await rx.r_eval("'after exits'"), "after exits");
});
