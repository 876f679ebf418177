// Attack class: `Symbol.species` (and constructor/then replacement) on arrays,
// typed arrays, ArrayBuffers and promises. The guest controls its own species;
// the oracles check that the host never runs them: results are host-native
// objects of the plain built-in classes, host array/promise methods used on
// them run no guest code, and promise results are read from the engine's
// promise state, not through a guest `then`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TimeoutError } from "../../src/index.js";
import { assertHostClean, attempt, sandbox } from "./helpers.js";

const LOOP_SPECIES = "static get [Symbol.species]() { for (;;) {} }";

test("an Array subclass with a looping species crosses as a plain host Array", async () => {
  const sb = sandbox({ limits: { timeoutMs: 300 } });
  try {
    const r = await attempt(sb, `class A extends Array { ${LOOP_SPECIES} } const a = A.from([1, 2, 3]); a.constructor = A; a`);
    assert.equal(r.error, undefined, String(r.error));
    const arr = r.value as number[];
    assert.equal(Object.getPrototypeOf(arr), Array.prototype);
    const t0 = performance.now();
    assert.deepEqual(arr.map((x) => x * 2).filter(Boolean).slice(0).concat([8]), [2, 4, 6, 8]);
    assert.ok(performance.now() - t0 < 100);
    assertHostClean();
  } finally {
    sb.dispose();
  }
});

test("poisoned Array[Symbol.species] / Array.prototype.constructor do not affect copies either way", async () => {
  const sb = sandbox({ globals: { echo: (x: unknown) => x }, limits: { timeoutMs: 300 } });
  try {
    await sb.r_exec(`Object.defineProperty(Array, Symbol.species, { get() { for (;;) {} }, configurable: true });
      Array.prototype.constructor = function Evil() { for (;;) {} };`);
    assert.deepEqual(await sb.r_eval("echo([1, [2, [3]]])"), [1, [2, [3]]]);
    const f = (await sb.r_eval("(a) => a.length")) as (a: unknown) => Promise<unknown>;
    assert.equal(await f([1, 2, 3]), 3);
    assert.deepEqual([1, 2].map((x) => x + 1), [2, 3]);
    assertHostClean();
  } finally {
    sb.dispose();
  }
});

test("typed arrays and ArrayBuffers with hostile species cross with their real bytes", async () => {
  const sb = sandbox({ limits: { timeoutMs: 300 } });
  try {
    const r = await sb.r_eval(`
      for (const C of [ArrayBuffer, Uint8Array, Float64Array, Object.getPrototypeOf(Uint8Array)]) Object.defineProperty(C, Symbol.species, { get() { for (;;) {} }, configurable: true });
      class U extends Uint8Array { ${LOOP_SPECIES} }
      const u = new U([1, 2, 3, 4]);
      [u, u.buffer, new Float64Array([1.5]), new DataView(new ArrayBuffer(2))]`);
    const [u, buf, f64, dv] = r as [Uint8Array, ArrayBuffer, Float64Array, DataView];
    assert.equal(Object.getPrototypeOf(u), Uint8Array.prototype);
    assert.deepEqual([...u], [1, 2, 3, 4]);
    assert.ok(buf instanceof ArrayBuffer && buf.byteLength === 4);
    assert.deepEqual([...f64], [1.5]);
    assert.ok(dv instanceof DataView);
    assert.deepEqual([...u.slice(1), ...u.map((x) => x)], [2, 3, 4, 1, 2, 3, 4]); // host species: host's own
  } finally {
    sb.dispose();
  }
});

const promiseCases: Array<[string, string, unknown]> = [
  ["promise subclass with looping species", `class P extends Promise { ${LOOP_SPECIES} } P.resolve(5)`, 5],
  ["own then that loops", "(() => { const p = Promise.resolve(6); p.then = () => { for (;;) {} }; return p })()", 6],
  ["Promise.prototype.then that never calls back", "Promise.prototype.then = function () { return this }; Promise.resolve(7)", 7],
  ["Promise.prototype.then that loops, async function result", "Promise.prototype.then = function () { for (;;) {} }; (async () => 8)()", 8],
  ["constructor replaced on the promise", "(() => { const p = Promise.resolve(9); p.constructor = { [Symbol.species]: function () { for (;;) {} } }; return p })()", 9],
  ["Promise global replaced", "globalThis.Promise = function () { for (;;) {} }; (async () => 10)()", 10],
  ["Promise species getter on the constructor", `Object.defineProperty(Promise, Symbol.species, { get() { for (;;) {} } }); (async () => { await null; return 11 })()`, 11],
];

for (const [name, code, expected] of promiseCases) {
  test(`promise result: ${name}`, async () => {
    const sb = sandbox({ limits: { timeoutMs: 300 } });
    try {
      const r = await attempt(sb, code);
      // The host must not run the guest's then/species: the value arrives (or, if the guest's own
      // code needed them, a bounded TimeoutError) — never a hang.
      if (r.error) assert.ok(r.error instanceof TimeoutError, String(r.error));
      else assert.equal(r.value, expected);
      assert.ok(r.ms < 3000);
      assertHostClean();
    } finally {
      sb.dispose();
    }
  });
}

test("async host functions still resolve correctly after the guest poisons Promise machinery", async () => {
  const sb = sandbox({ globals: { aget: async (x: number) => ({ v: x + 1 }), fail: async () => { throw new RangeError("r"); } }, limits: { timeoutMs: 500 } });
  try {
    await sb.r_exec(`
      Promise.prototype.then = function () { throw new Error("poisoned then") };
      Promise.prototype.catch = function () { throw new Error("poisoned catch") };
      Promise.resolve = function () { for (;;) {} };`);
    assert.deepEqual(await sb.r_eval("(async () => (await aget(1)).v)()"), 2);
    assert.deepEqual(await sb.r_eval("(async () => { try { await fail() } catch (e) { return e.name } })()"), "RangeError");
    assertHostClean();
  } finally {
    sb.dispose();
  }
});

test("a looping Promise[Symbol.species] getter costs the guest its own budget, nothing more", async () => {
  // The host's is-this-a-promise check goes through the kernel's captured
  // Promise.prototype.then, which reads the species: the guest's getter runs
  // (under the call's deadline). Bounded TimeoutError or the right value; never a hang.
  const sb = sandbox({ globals: { aget: async (x: number) => ({ v: x + 1 }) }, limits: { timeoutMs: 300 } });
  try {
    await sb.r_exec("Object.defineProperty(Promise, Symbol.species, { get() { for (;;) {} }, configurable: true })");
    const r = await attempt(sb, "(async () => (await aget(1)).v)()");
    if (r.error) assert.ok(r.error instanceof TimeoutError, String(r.error));
    else assert.equal(r.value, 2);
    assert.ok(r.ms < 3000);
    assert.equal(await sb.r_eval("delete Promise[Symbol.species]; 40 + 2"), 42);
    assertHostClean();
  } finally {
    sb.dispose();
  }
});
