// Attack class: prototype pollution of the host through copied data. Keys such
// as `__proto__`, `constructor`, `prototype` must arrive as plain own data on
// fresh objects, in every position (root, nested, arrays, Maps, error props,
// host-function arguments, guest-function results). Oracle: the host's
// Object.prototype / Array.prototype / … are unchanged after every case, and the
// copies have the ordinary prototypes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GuestError } from "../../src/index.js";
import { assertHostClean, attempt, sandbox } from "./helpers.js";

const POLLUTE = `{"__proto__": {"polluted": "yes", "isAdmin": true, "toString": 1}, "constructor": {"prototype": {"polluted": "yes"}}, "prototype": {"polluted": "yes"}}`;

const shapes: Record<string, string> = {
  "JSON.parse root": `JSON.parse('${POLLUTE}')`,
  "nested in objects": `({ a: { b: JSON.parse('${POLLUTE}') } })`,
  "in an array": `[1, JSON.parse('${POLLUTE}'), [JSON.parse('${POLLUTE}')]]`,
  "Map keys and values": `new Map([[JSON.parse('${POLLUTE}'), JSON.parse('${POLLUTE}')], ["__proto__", { polluted: 1 }]])`,
  "Set members": `new Set([JSON.parse('${POLLUTE}')])`,
  "computed __proto__ key": `({ ["__proto__"]: { polluted: "yes" }, ["constructor"]: { ["prototype"]: { polluted: "yes" } } })`,
  "defineProperty __proto__": `Object.defineProperty({}, "__proto__", { value: { polluted: "yes" }, enumerable: true })`,
  "null-prototype object with __proto__": `Object.assign(Object.create(null), JSON.parse('${POLLUTE}'))`,
  "__proto__ pointing back at the root (cycle)": `(() => { const o = {}; Object.defineProperty(o, "__proto__", { value: o, enumerable: true }); return o })()`,
  "__proto__ holding an array": `Object.defineProperty({}, "__proto__", { value: [1, 2], enumerable: true })`,
  "class instance whose prototype has polluted data": `(() => { class C { constructor() { this.__proto__polluted = 1 } } C.prototype.polluted = "yes"; return Object.assign(new C(), JSON.parse('${POLLUTE}')) })()`,
  "keys that are Object.prototype method names": `({ hasOwnProperty: 1, toString: 2, valueOf: 3, __defineGetter__: 4, __lookupGetter__: 5, isPrototypeOf: 6, propertyIsEnumerable: 7, toLocaleString: 8 })`,
};

for (const [name, code] of Object.entries(shapes)) {
  test(`result with ${name} does not pollute the host`, async () => {
    const sb = sandbox();
    try {
      const r = await attempt(sb, code);
      assert.equal(r.error, undefined, String(r.error));
      assertHostClean();
      // Walk the copy (iteratively): every object has an ordinary prototype; __proto__ keys are own data.
      const stack: unknown[] = [r.value];
      const seen = new Set<unknown>();
      while (stack.length) {
        const v = stack.pop();
        if (typeof v !== "object" || v === null || seen.has(v)) continue;
        seen.add(v);
        const proto = Object.getPrototypeOf(v);
        assert.ok([Object.prototype, Array.prototype, Map.prototype, Set.prototype].includes(proto), `unexpected prototype on a copy`);
        assert.equal((v as Record<string, unknown>).polluted === "yes" && !Object.hasOwn(v, "polluted"), false, "copy inherits polluted data");
        if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
        else if (v instanceof Set) for (const x of v) stack.push(x);
        else for (const k of Reflect.ownKeys(v)) stack.push((Object.getOwnPropertyDescriptor(v, k) as PropertyDescriptor).value);
      }
    } finally {
      sb.dispose();
    }
  });
}

test("host-function arguments with __proto__ / constructor keys arrive as own data", async () => {
  const received: unknown[] = [];
  const sb = sandbox({ globals: { take: (...args: unknown[]) => { received.push(...args); return args.length; } } });
  try {
    await sb.r_eval(`take(JSON.parse('${POLLUTE}'), [JSON.parse('${POLLUTE}')], new Map([["__proto__", 1]]), { "__proto__": null })`);
    assert.equal(received.length, 4);
    const first = received[0] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(first), Object.prototype);
    assert.ok(Object.hasOwn(first, "__proto__"));
    assert.equal(first.polluted, undefined);
    assert.equal(first.isAdmin, undefined);
    // The `{ "__proto__": null }` literal in the guest sets the guest prototype; it copies as {}.
    assert.deepEqual(Object.keys(received[3] as object), []);
    assertHostClean();
  } finally {
    sb.dispose();
  }
});

test("guest errors with __proto__ / constructor / name keys cannot replace GuestError fields or prototype", async () => {
  const sb = sandbox();
  try {
    const r = await attempt(sb, `throw Object.assign(new Error("m"), JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": 1, "guestName": "Forged", "frames": 7, "stack": "forged", "toString": 5}'))`);
    const e = r.error as GuestError;
    assert.ok(e instanceof GuestError);
    assert.equal(Object.getPrototypeOf(e), GuestError.prototype);
    assert.equal(e.guestName, "Error");
    assert.ok(Array.isArray(e.frames));
    assert.equal(typeof e.toString, "function");
    assert.doesNotMatch(String(e.stack), /^forged/);
    assertHostClean();
  } finally {
    sb.dispose();
  }
});

test("guest error names and function names like __proto__ stay strings", async () => {
  const sb = sandbox();
  try {
    const r = await attempt(sb, `throw Object.defineProperty(new Error("m"), "name", { value: "__proto__" })`);
    assert.ok(r.error instanceof GuestError);
    assert.equal((r.error as GuestError).guestName, "__proto__");
    const fns = (await sb.r_eval(`["__proto__", "constructor", "hasOwnProperty", "prototype"].map((n) => Object.defineProperty(function () { return n }, "name", { value: n }))`)) as Array<() => Promise<unknown>>;
    for (const f of fns) assert.equal(typeof f, "function");
    assert.equal(await fns[0]!(), "__proto__");
    assertHostClean();
  } finally {
    sb.dispose();
  }
});

test("host errors named __proto__ / constructor / a guest-added Object.prototype key reach the guest as real errors", async () => {
  const mk = (name: string) => () => { const e = new Error("m"); e.name = name; throw e; };
  const sb = sandbox({ globals: { p: mk("__proto__"), c: mk("constructor"), h: mk("hasOwnProperty"), x: mk("EvilCtor") } });
  try {
    const r = await sb.r_eval(`
      globalThis.ran = 0;
      Object.prototype.EvilCtor = function () { globalThis.ran++; return { forged: true } };
      [p, c, h, x].map((f) => { try { f() } catch (e) { return [e instanceof Error, e.name, e.message] } })`);
    assert.deepEqual(r, [[true, "__proto__", "m"], [true, "constructor", "m"], [true, "hasOwnProperty", "m"], [true, "EvilCtor", "m"]]);
    assert.equal(await sb.r_eval("ran"), 0, "the kernel called a guest-planted constructor");
    assertHostClean();
  } finally {
    sb.dispose();
  }
});

test("host globals with own __proto__ keys do not pollute the guest's Object.prototype either", async () => {
  const hostData = JSON.parse(POLLUTE) as unknown;
  const sb = sandbox({ globals: { data: hostData, arr: [hostData] } });
  try {
    assert.deepEqual(await sb.r_eval("[({}).polluted, Object.getPrototypeOf(data) === Object.prototype, Object.hasOwn(data, '__proto__'), data.polluted, arr[0].isAdmin]"), [undefined, true, true, undefined, undefined]);
  } finally {
    sb.dispose();
  }
});
