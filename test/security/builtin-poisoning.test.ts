// Attack class: poisoning guest builtins in one call to subvert the next —
// the boundary's own copying, host-function calls, guest functions called by
// the host, and the host itself. The guest may break its *own* code, but the
// kernel captured its primordials before any guest code ran, so values must
// still cross exactly; and whatever the guest does, the host stays clean.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GuestError, SystemExit } from "../../src/index.js";
import { assertHostClean, assertNoLeak, attempt, sandbox } from "./helpers.js";

const poisons: Record<string, string> = {
  "Array.prototype.push/pop/map/join/concat/slice": "for (const k of ['push', 'pop', 'map', 'join', 'concat', 'slice', 'forEach', 'splice', 'shift', 'unshift', 'indexOf', 'includes', 'filter']) Array.prototype[k] = function () { throw new Error('poisoned ' + k) }",
  "Array.prototype[Symbol.iterator] and ArrayIterator next": "Array.prototype[Symbol.iterator] = function* () { yield 'poisoned' }; Object.getPrototypeOf([][Symbol.iterator]()).next = () => ({ done: true })",
  "Array.prototype.toJSON / Object.prototype.toJSON": "Array.prototype.toJSON = () => 'poisoned'; Object.prototype.toJSON = () => ({ poisoned: true })",
  "setters on Array.prototype / Object.prototype indexes": "for (let i = 0; i < 20; i++) { Object.defineProperty(Array.prototype, i, { set() {}, get() { return 'poisoned' }, configurable: true }); Object.defineProperty(Object.prototype, String(i), { set() {}, get() { return 'poisoned' }, configurable: true }) }",
  "Array.prototype's prototype replaced": "Object.setPrototypeOf(Array.prototype, new Proxy({}, { get(t, k) { return k === 'toJSON' ? () => 'poisoned' : undefined } }))",
  "JSON.stringify / JSON.parse": "JSON.stringify = () => '[[\"v\",\"poisoned\"]]'; JSON.parse = () => [['v', 'poisoned']]",
  "Object.defineProperty / keys / getPrototypeOf / create / assign / freeze": "for (const k of ['defineProperty', 'keys', 'getPrototypeOf', 'create', 'assign', 'freeze', 'entries', 'getOwnPropertyDescriptor']) Object[k] = function () { throw new Error('poisoned ' + k) }",
  "Reflect.*": "for (const k of Reflect.ownKeys(Reflect)) if (typeof Reflect[k] === 'function') Reflect[k] = function () { throw new Error('poisoned') }",
  "Function.prototype.call/apply/bind": "Function.prototype.call = function () { throw new Error('poisoned call') }; Function.prototype.apply = function () { throw new Error('poisoned apply') }; Function.prototype.bind = function () { throw new Error('poisoned bind') }",
  "Map/Set prototypes": "for (const C of [Map, Set]) for (const k of Reflect.ownKeys(C.prototype)) { try { C.prototype[k] = function () { throw new Error('poisoned') } } catch {} }",
  "globals replaced: Array Object Map Set Date RegExp Error BigInt ArrayBuffer": "for (const k of ['Array', 'Object', 'Map', 'Set', 'Date', 'RegExp', 'Error', 'TypeError', 'RangeError', 'BigInt', 'ArrayBuffer', 'Uint8Array', 'DataView', 'String', 'Number', 'Symbol']) globalThis[k] = function () { return { poisoned: true } }",
  "Error constructors and Error.prototype.name getter": "Object.defineProperty(Error.prototype, 'name', { get() { return 'Poisoned' }, configurable: true }); Error.prototype.toString = () => 'poisoned'",
  "String.prototype.slice/replace/split/toString": "for (const k of ['slice', 'replace', 'split', 'toString', 'valueOf', 'charCodeAt', 'substring']) String.prototype[k] = function () { return 'poisoned' }",
  "Number/BigInt toString": "Number.prototype.toString = () => 'poisoned'; BigInt.prototype.toString = () => 'poisoned'",
  "Promise.prototype.then / Promise.resolve / Object.prototype.then": "Promise.prototype.then = function (a, b) { return this }; Promise.resolve = () => new Promise(() => {}); Object.prototype.then = undefined",
  "typed array getters": "for (const k of ['buffer', 'byteOffset', 'byteLength', 'length']) Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), k, { get() { return 0 }, configurable: true })",
  "Symbol.hasInstance and Symbol.toStringTag": "Object.defineProperty(Function.prototype, Symbol.hasInstance, { value: () => true, configurable: true }); Object.defineProperty(Object.prototype, Symbol.toStringTag, { get() { return 'Error' }, configurable: true })",
  "console and exit replaced": "globalThis.console = { log() { throw new Error('poisoned') } }; globalThis.exit = () => 'poisoned'",
};

// Built before the poison runs: the battery tests copying, not the guest's own builtins.
const SAVE = `globalThis.__battery = [1, -0, "str", true, null, undefined, 2n ** 70n, -5n, [1, 2, 3], { a: { b: [2, 3] } },
  new Map([[1, "one"], ["k", { z: [null] }]]), new Set([1, "s"]), new Date(86400000), /x/gi, new Uint8Array([1, 2, 3]),
  new Float64Array([0.5]), new DataView(new ArrayBuffer(2)), NaN, Infinity];`;
const BATTERY = "__battery";
const expected = [1, -0, "str", true, null, undefined, 2n ** 70n, -5n, [1, 2, 3], { a: { b: [2, 3] } }, new Map<unknown, unknown>([[1, "one"], ["k", { z: [null] }]]),
  new Set([1, "s"]), new Date(86400000), /x/gi, new Uint8Array([1, 2, 3]), new Float64Array([0.5]), new DataView(new ArrayBuffer(2)), NaN, Infinity];

for (const [name, poison] of Object.entries(poisons)) {
  test(`after poisoning ${name}, values still cross exactly and the host is unharmed`, async () => {
    const hostSeen: unknown[] = [];
    const sb = sandbox({
      globals: {
        echo: (x: unknown) => { hostSeen.push(x); return x; },
        aecho: async (x: unknown) => x,
        hostData: { list: [1, 2, { deep: "yes" }], when: new Date(5), big: 7n },
      },
      limits: { timeoutMs: 1000 },
    });
    try {
      await sb.r_exec(SAVE);
      const p = await attempt(sb, poison, 10_000, "r_exec");
      assert.ok(p.error === undefined || p.error instanceof GuestError, String(p.error));
      // 1. A result copied out.
      const out = await attempt(sb, BATTERY);
      assert.equal(out.error, undefined, `copy-out failed after poisoning: ${String(out.error)}`);
      assert.deepEqual(out.value, expected);
      // 2. A host function call: arguments out, result in (checked back out).
      const viaHost = await attempt(sb, `echo(${BATTERY})`);
      assert.equal(viaHost.error, undefined, String(viaHost.error));
      assert.deepEqual(hostSeen[0], expected);
      assert.deepEqual(viaHost.value, expected);
      // 3. Host data copied in at start-up, read back now.
      assert.deepEqual(await sb.r_eval("hostData"), { list: [1, 2, { deep: "yes" }], when: new Date(5), big: 7n });
      // 4. A guest function called by the host with host arguments.
      const f = (await sb.r_eval("(function (x) { return x })")) as (x: unknown) => Promise<unknown>;
      assert.deepEqual(await f({ n: [1, { m: new Map([[1, 2]]) }] }), { n: [1, { m: new Map([[1, 2]]) }] });
      // 5. Exit still works as SystemExit (through the kernel-held host function, whatever `exit` now is).
      const ex = await attempt(sb, "process.exit(3)");
      assert.ok(ex.error instanceof SystemExit || ex.error instanceof GuestError, String(ex.error));
      assertNoLeak(out.value, viaHost.value, sb.output.stdout, sb.output.stderr);
      assertHostClean();
    } finally {
      sb.dispose();
    }
  });
}

test("a guest cannot reach the kernel's raw bridge or API through poisoned builtins", async () => {
  // Poison everything the kernel might call on objects it owns, then make it copy values both ways;
  // every poison records the `this`/arguments it was called with.
  const sb = sandbox({ globals: { echo: (x: unknown) => x, aecho: async (x: unknown) => x } });
  try {
    const found = await sb.r_eval(`(async () => {
      const caught = [];
      const RA = Reflect.apply, push = Array.prototype.push;
      let inSpy = false;
      const spy = (name, orig) => function (...args) {
        if (!inSpy) { inSpy = true; try { RA(push, caught, [this]); for (let i = 0; i < args.length; i++) RA(push, caught, [args[i]]) } finally { inSpy = false } }
        return orig ? RA(orig, this, args) : undefined;
      };
      for (const [obj, keys] of [[Array.prototype, ['push', 'pop', 'slice', 'concat', 'map', 'join', Symbol.iterator]], [Map.prototype, ['get', 'set', 'has', 'forEach', 'delete']], [Object, ['defineProperty', 'keys', 'getPrototypeOf', 'freeze']], [JSON, ['stringify', 'parse']], [Function.prototype, ['call', 'apply', 'bind']], [Reflect, ['apply']]]) {
        for (const k of keys) { const orig = obj[k]; obj[k] = spy(String(k), orig) }
      }
      echo({ a: [1, { b: 2 }], m: new Map([[1, 2]]) }); await aecho([1]);
      try { exit(0) } catch {}
      return caught.filter((x) => typeof x === 'function').map((x) => x.name).concat(caught.filter((x) => x && typeof x === 'object' && ('encode' in x || 'callGuest' in x || 'bridge' in x)).map(() => 'kernel-api'));
    })()`);
    assert.ok(Array.isArray(found));
    assert.ok(!(found as string[]).includes("bridge"), `guest captured the raw bridge: ${String(found)}`);
    assert.ok(!(found as string[]).includes("kernel-api"), `guest captured the kernel API: ${String(found)}`);
    assertHostClean();
  } catch (error) {
    // SystemExit from exit(0) is fine too.
    if (!(error instanceof SystemExit)) throw error;
  } finally {
    sb.dispose();
  }
});
