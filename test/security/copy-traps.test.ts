// Attack class: guest code that runs while the host copies a value out —
// getters, Proxy traps, toJSON / valueOf / toString / then traps — plus values
// built to make the copy itself expensive. Oracles: the copy ends (in a value
// or a typed error) within a bound, the host gets plain data with no guest
// code attached to host machinery, and the host is clean afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { CloneError, GuestError, MemoryLimitError, SystemExit, TimeoutError } from "../../src/index.js";
import { assertHostClean, assertNoLeak, assertUsableOrDisposed, attempt, sandbox } from "./helpers.js";

const TIMEOUT = 300;
const BOUND = TIMEOUT + 3000;

type Expect = "timeout" | "error" | "value" | "exit" | "limit";
const cases: Array<[string, string, Expect]> = [
  ["looping getter on the result", "({ get x() { for (;;) {} } })", "timeout"],
  ["looping getter deep inside", "({ a: [{ b: { get c() { while (true) {} } } }] })", "timeout"],
  ["looping getter in an array element", "Object.defineProperty([1, 2, 3], 1, { get() { for (;;) {} }, enumerable: true })", "timeout"],
  ["looping getter on Array.prototype index (hole)", "Object.defineProperty(Array.prototype, 1, { get() { for (;;) {} }, configurable: true }); [1, , 3]", "timeout"],
  ["Proxy: ownKeys loops", "new Proxy({}, { ownKeys() { for (;;) {} } })", "timeout"],
  ["Proxy: getPrototypeOf loops", "new Proxy({}, { getPrototypeOf() { for (;;) {} } })", "timeout"],
  ["Proxy: get loops", "new Proxy({ a: 1 }, { get() { for (;;) {} } })", "timeout"],
  ["Proxy: getOwnPropertyDescriptor loops", "new Proxy({ a: 1 }, { getOwnPropertyDescriptor() { for (;;) {} } })", "timeout"],
  ["Proxy array: has loops", "new Proxy([1, 2], { has() { for (;;) {} } })", "timeout"],
  ["Proxy array with length 2^32-1", "new Proxy([], { get(t, k) { return k === 'length' ? 2 ** 32 - 1 : 1 } })", "limit"],
  ["Proxy array with length 2^32-1 and holes", "new Proxy([], { get(t, k) { return k === 'length' ? 2 ** 32 - 1 : undefined }, has() { return false } })", "limit"],
  ["Proxy: every trap throws", "new Proxy({}, { get() { throw new Error('g') }, ownKeys() { throw new Error('o') }, getPrototypeOf() { throw new Error('p') } })", "error"],
  ["revoked Proxy", "(() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy })()", "error"],
  ["Proxy of a function", "new Proxy(function () {}, { get() { for (;;) {} } })", "timeout"],
  ["getter returning a fresh object forever", "(() => { const mk = () => ({ get next() { return mk() }, pad: 'x'.repeat(1000) }); return mk() })()", "limit"],
  ["getter adding keys while copied", "(() => { const o = {}; let i = 0; Object.defineProperty(o, 'a', { enumerable: true, get() { for (let j = 0; j < 1000; j++) o['k' + i++] = 'v'.repeat(100); return 1 } }); return o })()", "value"],
  ["getter that throws", "({ get x() { throw new Error('nope') } })", "error"],
  ["getter that throws a looping-getter error", "({ get x() { throw { get message() { for (;;) {} } } } })", "error"],
  ["getter that calls exit", "({ get x() { exit(9) } })", "exit"],
  ["getter that calls process.exit in a caught block", "({ get x() { try { process.exit(4) } catch {} return 1 } })", "exit"],
  ["getter that grows memory", "({ get x() { const a = []; for (;;) a.push('y'.repeat(1e5)) } })", "limit"],
  ["getter that recurses", "({ get x() { const f = () => f(); return f() } })", "limit"],
  ["toJSON that loops", "({ toJSON() { for (;;) {} }, a: 1 })", "value"],
  ["valueOf / toString / toPrimitive that loop", "({ valueOf() { for (;;) {} }, toString() { for (;;) {} }, [Symbol.toPrimitive]() { for (;;) {} } })", "value"],
  ["Date with hostile valueOf", "(() => { const d = new Date(5); d.valueOf = () => { for (;;) {} }; d.getTime = () => { for (;;) {} }; return d })()", "value"],
  ["RegExp with hostile source getter", "(() => { const r = /a/; Object.defineProperty(r, 'source', { get() { for (;;) {} } }); return r })()", "value"],
  ["Map with hostile forEach / entries", "(() => { const m = new Map([[1, 2]]); m.forEach = () => { for (;;) {} }; m[Symbol.iterator] = () => { for (;;) {} }; return m })()", "value"],
  ["typed array with lying length getter", "(() => { const t = new Uint8Array(4); Object.defineProperty(t, 'length', { get() { return 1e9 } }); return t })()", "value"],
  ["typed array with lying byteOffset on a subclass", "(() => { class T extends Uint8Array { get byteOffset() { return 1e9 } get buffer() { return new ArrayBuffer(1e7) } } return new T(4) })()", "value"],
  ["object with a then method (returned thenable)", "({ then(resolve) { } })", "error"],
  ["object with a then method that resolves to another thenable", "({ then(resolve) { resolve({ then(r) { r(1) } }) } })", "error"],
  ["object with a then getter that loops", "({ get then() { for (;;) {} } })", "timeout"],
];

for (const [name, code, expect] of cases) {
  test(`copy trap: ${name}`, async () => {
    const sb = sandbox({ limits: { timeoutMs: TIMEOUT, memoryBytes: 32 * 1024 * 1024, resultBytes: 1024 * 1024 } });
    try {
      const outcome = await attempt(sb, code, 20_000);
      assert.ok(outcome.ms < BOUND, `the copy took ${outcome.ms.toFixed(0)} ms (bound ${BOUND})`);
      assertNoLeak(outcome.value, outcome.error);
      const e = outcome.error;
      switch (expect) {
        case "timeout": assert.ok(e instanceof TimeoutError, `expected TimeoutError, got ${String(e)}`); break;
        case "exit": assert.ok(e instanceof SystemExit, `expected SystemExit, got ${String(e)}`); break;
        case "limit": assert.ok(e && e.constructor.name.endsWith("LimitError") || e instanceof TimeoutError, `expected a limit error, got ${String(e)}`); break;
        case "error": assert.ok(e instanceof GuestError || e instanceof CloneError, `expected GuestError/CloneError, got ${String(e)}`); break;
        case "value": {
          assert.equal(e, undefined, `expected a value, got ${String(e)}`);
          // What the host holds is plain data: using it with host machinery runs no guest code synchronously.
          const t0 = performance.now();
          const v = outcome.value as Record<string, unknown>;
          void String(inspect(v, { depth: 4 }));
          try { void JSON.stringify(v); } catch { /* cycles/bigint are fine */ }
          try { void (String(v) + `${v as object}`); } catch { /* a guest function as toString returns a promise: TypeError is fine */ }
          assert.ok(performance.now() - t0 < 1000, "host-side use of the copy was slow (guest code ran?)");
          break;
        }
      }
      await assertUsableOrDisposed(sb);
      assertHostClean();
    } finally {
      sb.dispose();
    }
  });
}

test("copied typed arrays respect their real bounds, whatever the guest's getters say", async () => {
  const sb = sandbox();
  try {
    const v = await sb.r_eval("(() => { const t = new Uint8Array([1, 2, 3, 4]); Object.defineProperty(t, 'length', { get() { return 1e9 } }); return t.subarray(1, 3) })()");
    assert.ok(v instanceof Uint8Array);
    assert.deepEqual([...(v as Uint8Array)], [2, 3]);
  } finally {
    sb.dispose();
  }
});

test("host await of a guest result never calls guest code after the call ended", async () => {
  const sb = sandbox({ limits: { timeoutMs: TIMEOUT } });
  try {
    await sb.r_exec("globalThis.calls = 0");
    const out = await attempt(sb, "({ then(res) { globalThis.calls++; res(1) } })", 5000);
    assert.ok(out.error instanceof CloneError, `a thenable result must be refused, got ${inspect(out)}`);
    assert.equal(await sb.r_eval("calls"), 0);
    // Nested thenables arrive without their `then` (implicit-call names never carry guest functions).
    const nested = (await sb.r_eval("[{ then(res) { globalThis.calls++; res(1) }, x: 1 }]")) as Array<{ then?: unknown; x: number }>;
    assert.equal(nested[0]!.then, undefined);
    assert.equal(nested[0]!.x, 1);
    assert.equal(await Promise.resolve(nested[0]), nested[0]);
    assert.equal(await sb.r_eval("calls"), 0);
  } finally {
    sb.dispose();
  }
});

test("guest functions under implicit-call names never reach the host; other functions stay async callables", async () => {
  const sb = sandbox({ limits: { timeoutMs: TIMEOUT } });
  try {
    const v = (await sb.r_eval("({ toString() { for (;;) {} }, valueOf() { for (;;) {} }, toJSON() { for (;;) {} }, spin() { for (;;) {} } })")) as { spin: () => Promise<unknown> };
    const t0 = performance.now();
    // Host conversions use the host's own Object.prototype methods: no guest code runs.
    assert.equal(String(v), "[object Object]");
    assert.equal(`${v}`, "[object Object]");
    assert.equal(JSON.stringify(v), "{}");
    assert.deepEqual(Object.keys(v), ["spin"]);
    assert.ok(performance.now() - t0 < 200);
    // A function under any other name is an async callable under the limits.
    await assert.rejects(v.spin(), TimeoutError);
    assert.equal(await sb.r_eval("1 + 1"), 2);
  } finally {
    sb.dispose();
  }
});

// Was a bug (jobs queued during copy-out ran at the start of the next call); fixed upstream.
test("a promise-job loop started by a getter during copy-out is not charged to the next call", async () => {
  const sb = sandbox({ limits: { timeoutMs: TIMEOUT } });
  try {
    const first = await attempt(sb, "({ get x() { (function f() { Promise.resolve().then(f) })(); return 1 } })");
    // Either this call is charged for its own job loop (TimeoutError) or the jobs are dropped…
    assert.ok(first.error === undefined || first.error instanceof TimeoutError);
    // …but an innocent next call must not pay for it.
    const next = await attempt(sb, "6 * 7");
    assert.equal(next.error, undefined, String(next.error));
    assert.equal(next.value, 42);
  } finally {
    sb.dispose();
  }
});

test("copy trap: a thrown error with `then`/`toJSON` keys is never adopted or serialised through guest code", async () => {
  const calls: string[] = [];
  const sb = sandbox({ globals: { note: (s: string) => { calls.push(s); } } });
  try {
    const caught = await sb
      .r_eval("const e = new Error('boom'); e.then = (ok) => { note('then'); ok('hijacked'); }; e.toJSON = () => { note('json'); return 'x'; }; e.code = 7; throw e")
      .catch((e: unknown) => e);
    // `.catch((e) => e)` resolved with the error itself: nothing adopted it.
    assert.ok(caught instanceof GuestError, String(caught));
    assert.equal((caught as GuestError).message, "boom");
    assert.equal((caught as unknown as { code: number }).code, 7);
    assert.equal(Object.hasOwn(caught as object, "then"), false);
    JSON.stringify(caught);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(calls, []);
  } finally {
    sb.dispose();
  }
});
