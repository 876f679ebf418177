// Attack class: denial of service. Every shape must end in its typed limit
// error (or a clean GuestError), within a generous bound, with the host process
// unharmed and the sandbox usable again or clearly disposed. Exact figures come
// from bench/limit-accuracy.mjs; the bounds here are deliberately loose.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GuestError, LimitError, MemoryLimitError, OutputLimitError, StackLimitError, TimeoutError } from "../../src/index.js";
import { assertHostClean, assertUsableOrDisposed, attempt, sandbox } from "./helpers.js";

const TIMEOUT = 250;
const MEMORY = 32 * 1024 * 1024;
type Ctor = abstract new (...a: never[]) => Error;

const shapes: Array<[string, string, Ctor | Ctor[], number?]> = [
  // CPU
  ["while (true)", "while (true) {}", TimeoutError],
  ["for (;;) with work", "let x = 0; for (;;) x = (x + 1) | 0", TimeoutError],
  ["recursion-free loop in a called function", "function f() { for (;;) {} } f()", TimeoutError],
  ["promise-job loop", "(function f() { return Promise.resolve().then(f) })()", TimeoutError],
  ["promise-job loop, result not awaited", "(function f() { Promise.resolve().then(f) })(); 1", TimeoutError],
  ["queueMicrotask-style loop via then chains", "let p = Promise.resolve(); for (let i = 0; i < 1e9; i++) p = p.then(() => {}); p", [TimeoutError, MemoryLimitError, GuestError]],
  ["async loop of awaits", "(async () => { for (;;) await null })()", TimeoutError],
  ["async recursion", "(async function f() { await f() })()", [StackLimitError, TimeoutError]],
  ["generator loop", "function* g() { for (;;) yield 1 } for (const _ of g()) {}", TimeoutError],
  ["ReDoS /^(a+)+$/", "/^(a+)+$/.test('a'.repeat(40) + 'b')", TimeoutError],
  ["ReDoS /(a|a)*b/", "/(a|a)*b/.exec('a'.repeat(40))", TimeoutError],
  ["ReDoS /(x+x+)+y/", "/(x+x+)+y/.test('x'.repeat(5000))", TimeoutError],
  ["loop in a getter during copy", "({ get x() { for (;;) {} } })", TimeoutError],
  ["loop in finally after interrupt", "try { for (;;) {} } finally { for (;;) {} }", TimeoutError],
  ["loop in catch after interrupt", "for (;;) { try { for (;;) {} } catch { } }", TimeoutError],
  ["sort with a looping comparator", "[3, 2, 1].sort(() => { for (;;) {} })", TimeoutError],
  ["Proxy trap loop", "new Proxy({}, { get() { for (;;) {} } }).x", TimeoutError],
  ["eval of a loop", "eval('for(;;){}')", TimeoutError],
  ["Function constructor loop", "Function('for(;;){}')()", TimeoutError],
  // memory
  ["string doubling", "let s = 'x'; for (;;) s += s", [MemoryLimitError, GuestError]],
  ["string push 1 MB", "const a = []; for (;;) a.push('x'.repeat(1e6))", MemoryLimitError],
  ["string concat growth", "let s = ''; for (;;) s += 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + s.length", [MemoryLimitError, TimeoutError]],
  ["array growth", "const a = []; for (;;) a.push(new Array(1e5).fill(1))", MemoryLimitError],
  ["one huge array", "new Array(1e8).fill(0)", [MemoryLimitError, GuestError]],
  ["typed arrays", "const a = []; for (;;) a.push(new Uint8Array(1e6))", MemoryLimitError],
  ["one huge typed array", "new Float64Array(1e9)", [MemoryLimitError, GuestError]],
  ["ArrayBuffer resize-ish growth", "const a = []; for (let n = 1; ; n *= 2) a.push(new ArrayBuffer(n))", [MemoryLimitError, GuestError]],
  ["many small objects", "const a = []; for (;;) a.push({ a: 1, b: 2, c: [3] })", [MemoryLimitError, TimeoutError, GuestError]],
  ["object with many keys", "const o = {}; for (let i = 0; ; i++) o['k' + i] = i", [MemoryLimitError, TimeoutError, GuestError]],
  ["Map growth", "const m = new Map(); for (let i = 0; ; i++) m.set(i, { i })", [MemoryLimitError, TimeoutError, GuestError]],
  ["closures growth", "const a = []; for (let i = 0; ; i++) a.push(() => i)", [MemoryLimitError, TimeoutError, GuestError]],
  ["JSON.stringify blowup", "const o = { a: 'x'.repeat(1e6) }; const l = []; for (;;) l.push(JSON.stringify([o, o, o, o]))", [MemoryLimitError, TimeoutError]],
  ["repeat of a huge count", "'x'.repeat(2 ** 30)", [MemoryLimitError, GuestError]],
  ["padStart huge", "''.padStart(2 ** 29, 'ab')", [MemoryLimitError, GuestError]],
  // stack
  ["deep recursion", "function f() { return f() + 1 } f()", StackLimitError],
  ["mutual recursion", "function a() { return b() } function b() { return a() } a()", StackLimitError],
  ["recursion through getters", "const o = { get x() { return this.x } }; o.x", StackLimitError],
  ["recursion through toString", "const o = { toString() { return '' + o } }; '' + o", StackLimitError],
  ["recursion through Proxy", "const p = new Proxy({}, { get(t, k, r) { return r[k] } }); p.x", StackLimitError],
  ["deep JSON.parse", "JSON.parse('['.repeat(100000) + ']'.repeat(100000))", [StackLimitError, GuestError]],
  ["deeply nested source", "eval('['.repeat(50000) + ']'.repeat(50000))", [StackLimitError, GuestError]],
  ["deeply nested function source", "eval('(()=>'.repeat(20000) + '1' + ')'.repeat(20000))", [StackLimitError, GuestError]],
  ["deep JSON.stringify", "let o = {}; for (let i = 0; i < 1e5; i++) o = { o }; JSON.stringify(o)", [StackLimitError, GuestError, TimeoutError]],
  // results
  ["huge string result", "'x'.repeat(20e6)", MemoryLimitError],
  ["huge array result", "new Array(3e6).fill(1)", [MemoryLimitError, TimeoutError]],
  ["result nested 100k deep", "let o = {}; for (let i = 0; i < 100000; i++) o = { o }; o", [TimeoutError, MemoryLimitError], 20_000],
  ["wide shared-reference graph", "const x = [1]; const a = []; for (let i = 0; i < 1e6; i++) a.push(x); a", [MemoryLimitError, TimeoutError]],
  // output
  ["output flood", "for (;;) console.log('x'.repeat(1000))", OutputLimitError],
  ["output flood on stderr", "for (;;) console.error('y'.repeat(1000))", OutputLimitError],
  ["output flood via process.stdout.write", "for (;;) process.stdout.write('z'.repeat(10000))", OutputLimitError],
  ["output flood that swallows the error", "for (;;) { try { console.log('x'.repeat(1000)) } catch {} }", OutputLimitError],
  ["one huge console.log", "console.log('x'.repeat(5e6))", [OutputLimitError, GuestError]],
  ["output flood from promise jobs", "(function f() { console.log('j'.repeat(1000)); Promise.resolve().then(f) })()", OutputLimitError],
];

for (const [name, code, expected, bound] of shapes) {
  test(`DoS: ${name}`, async () => {
    // Output floods and the huge result get a roomy CPU budget so that, on a loaded machine, the limit under
    // test (output, resultBytes) stops them, not the clock racing the guest's own (legitimate) work.
    // Shapes expected to end in MemoryLimitError alone test memoryBytes/resultBytes: with a 250 ms
    // budget on a loaded machine the clock sometimes won the race against the guest's own allocations.
    const roomy = name.includes("output") || name.includes("console.log") || expected === MemoryLimitError;
    const sb = sandbox({ limits: { timeoutMs: roomy ? 5000 : TIMEOUT, memoryBytes: MEMORY, outputBytes: 256 * 1024, resultBytes: 4 * 1024 * 1024 } });
    try {
      const r = await attempt(sb, code, 30_000);
      const ok = ([] as Ctor[]).concat(expected);
      assert.ok(r.error, `the attack completed with a value: ${String(r.value).slice(0, 100)}`);
      assert.ok(ok.some((C) => r.error instanceof C), `expected ${ok.map((c) => c.name).join("/")}, got ${r.error!.name}: ${r.error!.message}`);
      if (r.error instanceof LimitError) assert.match(r.error.message, /limits\.\w+/);
      assert.ok(r.ms < (bound ?? 8000), `took ${r.ms.toFixed(0)} ms`);
      await assertUsableOrDisposed(sb);
      assertHostClean();
    } finally {
      sb.dispose();
    }
  });
}

test("DoS: unhandled rejections do not surface on the host; they fail the call like a Node script", async () => {
  let unhandled = 0;
  const onUnhandled = () => unhandled++;
  process.on("unhandledRejection", onUnhandled);
  const sb = sandbox();
  try {
    // The first unhandled reason is the call's error (see test/core/unhandled-rejections.test.ts).
    await assert.rejects(sb.r_eval("for (let i = 0; i < 1000; i++) Promise.reject(new Error('x' + i)); 1"), (e: unknown) => e instanceof GuestError && e.message === "x0");
    await assert.rejects(sb.r_eval("(async () => { Promise.reject(1); throw new Error('later') })().catch(() => 2)"), (e: unknown) => e instanceof GuestError && e.thrown === 1);
    assert.equal(await sb.r_eval("(async () => { Promise.reject(1).catch(() => {}); throw new Error('later') })().catch(() => 2)"), 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(unhandled, 0);
  } finally {
    process.off("unhandledRejection", onUnhandled);
    sb.dispose();
  }
});

test("DoS: awaiting a never-settling promise ends at once with a clear error", async () => {
  const sb = sandbox();
  try {
    for (const code of ["new Promise(() => {})", "(async () => { await new Promise(() => {}) })()", "Promise.all([new Promise(() => {}), 1])", "Promise.race([])"]) {
      const r = await attempt(sb, code, 5000);
      assert.ok(r.error instanceof GuestError, `${code}: ${String(r.error)}`);
      assert.match(r.error.message, /never settle/);
      assert.ok(r.ms < 2000);
    }
  } finally {
    sb.dispose();
  }
});

test("DoS: an async host function that never settles keeps the host waiting but not blocked; dispose() ends it", async () => {
  const sb = sandbox({ globals: { hang: () => new Promise(() => {}) }, limits: { timeoutMs: 200 } });
  const run = attempt(sb, "(async () => await hang())()", 10_000);
  let ticks = 0;
  const interval = setInterval(() => ticks++, 5);
  await new Promise((r) => setTimeout(r, 300));
  clearInterval(interval);
  assert.ok(ticks > 10, "the host event loop kept running");
  sb.dispose();
  const r = await run;
  assert.ok(r.error, "dispose() must end a call that waits on a host promise");
  assert.ok(r.ms < 5000);
});

test("DoS: host-side budget — many sandboxes timing out in parallel all end", async () => {
  const boxes = Array.from({ length: 8 }, () => sandbox({ limits: { timeoutMs: 100 } }));
  try {
    const t0 = performance.now();
    const results = await Promise.all(boxes.map((b) => attempt(b, "for (;;) {}", 20_000)));
    for (const r of results) assert.ok(r.error instanceof TimeoutError);
    assert.ok(performance.now() - t0 < 8000);
  } finally {
    for (const b of boxes) b.dispose();
  }
});

test("DoS: running out of memory is reported as MemoryLimitError even when the out-of-memory error itself cannot be copied", {
}, async () => {
  for (let i = 0; i < 4; i++) {
    const sb = sandbox({ limits: { memoryBytes: MEMORY, timeoutMs: 10_000 } });
    try {
      const r = await attempt(sb, "const a = []; for (;;) a.push({ a: 1, b: 2, c: [3] })", 30_000);
      assert.ok(r.error instanceof MemoryLimitError, `run ${i}: ${String(r.error)}`);
    } finally {
      sb.dispose();
    }
  }
});

// Native loops over guest-chosen lengths: closed by the Array.prototype guards (src/host/guest/native-guards.js).
const nativeLoops: Array<[string, string]> = [
  ["Array.prototype.indexOf on a huge array-like", "Array.prototype.indexOf.call({ length: 1e7 }, 1)"],
  ["Array.prototype.includes on a sparse array", "new Array(1e7).includes(1)"],
  ["Array.prototype.join('') on holes", "new Array(1e7).join('')"],
  ["Array.prototype.forEach over holes", "new Array(1e7).forEach(() => {})"],
  ["Array.prototype.reverse on an array-like", "Array.prototype.reverse.call({ length: 1e7 }); 1"],
  ["Array.prototype.lastIndexOf on an array-like", "Array.prototype.lastIndexOf.call({ length: 1e7 }, 1)"],
];
for (const [name, code] of nativeLoops) {
  test(`DoS: native builtin loop without an interrupt poll — ${name} — stops near timeoutMs`, {
  }, async () => {
    const sb = sandbox({ limits: { timeoutMs: 100 } });
    try {
      const r = await attempt(sb, code, 30_000);
      assert.ok(r.ms < 100 * 3 + 300, `ran ${r.ms.toFixed(0)} ms past a 100 ms timeout`);
      assert.ok(r.error instanceof TimeoutError);
    } finally {
      sb.dispose();
    }
  });
}

test("DoS: a guest callback passed to a host function that calls it does not deadlock the call", {
}, async () => {
  const sb = sandbox({ globals: { withCallback: (cb: (x: number) => Promise<number>) => cb(1) }, limits: { timeoutMs: 200 } });
  try {
    const r = await attempt(sb, "(async () => await withCallback((x) => x + 1))()", 3000);
    assert.ok(r.error instanceof Error || r.value === 2);
  } finally {
    sb.dispose();
  }
});

test("DoS: a default-order sort of a large array is stopped by timeoutMs (no long native sort)", async () => {
  const big = Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) % 1000003);
  const sb = sandbox({ limits: { timeoutMs: 100, memoryBytes: 256 * 1024 * 1024 }, globals: { big } });
  try {
    await sb.r_eval("1"); // start-up (copying the 1M-element global in) is not the sort's time
    for (const code of ["big.sort(); 1", "big.toSorted(); 1", "new Float64Array(4e6).map((_, i) => (i * 7919) % 1003).sort(); 1"]) {
      const r = await attempt(sb, code, 30_000);
      assert.ok(r.error instanceof TimeoutError, `${code}: ${String(r.error)}`);
      assert.ok(r.ms < 100 * 3 + 700, `${code} ran ${r.ms.toFixed(0)} ms past a 100 ms timeout`);
    }
    // Small sorts keep the native default order exactly.
    assert.equal(await sb.r_eval("[3, 1, 2, undefined, , 10].sort().join()"), "1,10,2,3,,");
  } finally {
    sb.dispose();
  }
});

test("DoS: Iterator.prototype.drop over a huge iterator is stopped by timeoutMs", async () => {
  const sb = sandbox({ limits: { timeoutMs: 100 } });
  try {
    await sb.r_eval("1");
    const r = await attempt(sb, "new Array(2 ** 32 - 1).values().drop(2 ** 32 - 2).next().done", 30_000);
    assert.ok(r.error instanceof TimeoutError, String(r.error));
    assert.ok(r.ms < 100 * 3 + 700, `ran ${r.ms.toFixed(0)} ms past a 100 ms timeout`);
    assert.deepEqual(await sb.r_eval("[1, 2, 3, 4].values().drop(2).toArray()"), [3, 4]);
  } finally {
    sb.dispose();
  }
});
