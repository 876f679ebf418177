// Binary copying (src/boundary/bjson/): the engine's C-level binary JSON in
// both directions, the guest-side gate in front of the non-polling C writer,
// and the exact fallback to the JSON codec for everything else.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CloneError, MemoryLimitError, RExec, RExecError } from "../../src/index.js";
import { createQuickJSEngine } from "../../src/engine/engine-factory.js";
import type { Engine } from "../../src/engine/engine.js";
import { learnedBuilds } from "../../src/boundary/bjson/atoms.js";
import { decodeBjson } from "../../src/boundary/bjson/decode.js";
import { encodeBjson } from "../../src/boundary/bjson/encode.js";
import { BjsonRefused, type BjsonBuild } from "../../src/boundary/bjson/format.js";
import { binaryCopies } from "../../src/boundary/realm-copy.js";

const LIMITS = { timeoutMs: 20_000 };

/** Run `fn` and say whether the copy out (or in) took the binary path. */
async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; out: number; in: number }> {
  const out = binaryCopies.out;
  const inn = binaryCopies.in;
  const value = await fn();
  return { value, out: binaryCopies.out - out, in: binaryCopies.in - inn };
}

/** The build table this process learned (after one RExec copied a structured value). */
async function build(): Promise<BjsonBuild> {
  if (learnedBuilds().length === 0) {
    using rx = new RExec({ limits: LIMITS });
    await rx.r_eval("({ warm: [1] })");
  }
  const builds = learnedBuilds();
  assert.equal(builds.length, 1, "exactly one build table was learned and verified");
  return builds[0]!;
}

const SUPPORTED = `({
  int: 1, neg: -7, big32: 2 ** 31, float: 1.5, negZero: -0, nan: NaN, inf: Infinity, ninf: -Infinity,
  t: true, f: false, n: null, u: undefined, s: "plain", latin: "h\\u00e9\\u00ff\\u0080", wide: "snow \\u2603 \\ud83d\\ude00",
  lone: "a\\ud800b\\udc00", nul: "a\\u0000b", long: "x".repeat(5000),
  bigs: [0n, 1n, -1n, 255n, 128n, -128n, -129n, 2n ** 64n, -(2n ** 100n) + 3n],
  date: new Date(86400000), badDate: new Date(NaN),
  map: new Map([[1, "one"], ["k", { deep: [1, 2] }], [{ key: 1 }, null]]),
  set: new Set([1, "two", 3n]),
  u8: new Uint8Array([1, 2, 255]), i16: new Int16Array([-1, 300]), f64: new Float64Array([1.5, -0, NaN]),
  u8c: new Uint8ClampedArray([9]), u32: new Uint32Array([4294967295]), b64: new BigInt64Array([-5n]), bu64: new BigUint64Array([5n]),
  offset: new Uint8Array(new Uint8Array([1, 2, 3, 4, 5]).buffer, 1, 3),
  buf: new Uint8Array([7, 8]).buffer,
  nested: { a: { b: { c: [[], {}, [[]]] } } },
  nullProto: Object.assign(Object.create(null), { x: 1 }),
  instance: new (class Point { constructor() { this.x = 1; this.y = 2; } })(),
  intKeys: { 2: "b", 1: "a", 10: "c", 4294967294: "big index", 2147483648: "past int atoms" },
  builtinNames: { length: 1, name: "n", prototype: 2, constructor: 3, message: "m", toString: 4, valueOf: 5 },
  thenData: { then: 1, toJSON: "not a function" },
})`;

function checkSupported(v: Record<string, unknown>): void {
  assert.equal(v.int, 1);
  assert.equal(v.neg, -7);
  assert.equal(v.big32, 2 ** 31);
  assert.equal(v.float, 1.5);
  assert.ok(Object.is(v.negZero, -0));
  assert.ok(Number.isNaN(v.nan));
  assert.equal(v.inf, Infinity);
  assert.equal(v.ninf, -Infinity);
  assert.equal(v.t, true);
  assert.equal(v.f, false);
  assert.equal(v.n, null);
  assert.ok("u" in v && v.u === undefined);
  assert.equal(v.latin, "h\u00e9\u00ff\u0080");
  assert.equal(v.wide, "snow \u2603 \ud83d\ude00");
  assert.equal(v.lone, "a\ud800b\udc00");
  assert.equal(v.nul, "a\u0000b");
  assert.equal(v.long, "x".repeat(5000));
  assert.deepEqual(v.bigs, [0n, 1n, -1n, 255n, 128n, -128n, -129n, 2n ** 64n, -(2n ** 100n) + 3n]);
  assert.ok(v.date instanceof Date && v.date.getTime() === 86400000);
  assert.ok(v.badDate instanceof Date && Number.isNaN(v.badDate.getTime()));
  const map = v.map as Map<unknown, unknown>;
  assert.ok(map instanceof Map);
  assert.deepEqual([...map.keys()].slice(0, 2), [1, "k"]);
  assert.deepEqual(map.get("k"), { deep: [1, 2] });
  assert.deepEqual([...map][2], [{ key: 1 }, null]);
  assert.deepEqual(v.set, new Set([1, "two", 3n]));
  assert.deepEqual(v.u8, new Uint8Array([1, 2, 255]));
  assert.deepEqual(v.i16, new Int16Array([-1, 300]));
  assert.deepEqual(v.f64, new Float64Array([1.5, -0, NaN]));
  assert.deepEqual(v.u8c, new Uint8ClampedArray([9]));
  assert.deepEqual(v.u32, new Uint32Array([4294967295]));
  assert.deepEqual(v.b64, new BigInt64Array([-5n]));
  assert.deepEqual(v.bu64, new BigUint64Array([5n]));
  const offset = v.offset as Uint8Array;
  assert.deepEqual([...offset], [2, 3, 4]);
  assert.equal(offset.byteOffset, 1);
  assert.equal(offset.buffer.byteLength, 5);
  assert.ok(v.buf instanceof ArrayBuffer);
  assert.deepEqual(new Uint8Array(v.buf as ArrayBuffer), new Uint8Array([7, 8]));
  assert.deepEqual(v.nested, { a: { b: { c: [[], {}, [[]]] } } });
  assert.deepEqual({ ...(v.nullProto as object) }, { x: 1 });
  assert.deepEqual(v.instance, { x: 1, y: 2 });
  assert.equal(Object.getPrototypeOf(v.instance), Object.prototype);
  assert.deepEqual(v.intKeys, { 1: "a", 2: "b", 10: "c", 4294967294: "big index", 2147483648: "past int atoms" });
  assert.deepEqual(Object.keys(v.builtinNames as object), ["length", "name", "prototype", "constructor", "message", "toString", "valueOf"]);
  assert.equal((v.builtinNames as Record<string, unknown>).toString, 4);
  assert.deepEqual(v.thenData, { then: 1, toJSON: "not a function" });
}

test("every supported kind round-trips guest → host over the binary path", async () => {
  using rx = new RExec({ limits: LIMITS });
  const { value, out } = await counted(() => rx.r_eval(SUPPORTED));
  assert.equal(out, 1, "the binary path was taken");
  checkSupported(value as Record<string, unknown>);
});

test("cycles and shared references keep their identity (out)", async () => {
  using rx = new RExec({ limits: LIMITS });
  const { value, out } = await counted(() =>
    rx.r_eval("(() => { const o = { x: 1 }; o.self = o; const b = new ArrayBuffer(4); const m = new Map(); m.set(m, o); return [o, o, new Uint8Array(b), new Uint16Array(b), m, [m]] })()"),
  );
  assert.equal(out, 1);
  const v = value as [Record<string, unknown>, unknown, Uint8Array, Uint16Array, Map<unknown, unknown>, unknown[]];
  assert.equal(v[0], v[1]);
  assert.equal(v[0].self, v[0]);
  assert.equal(v[2].buffer, v[3].buffer);
  assert.equal(v[4].get(v[4]), v[0]);
  assert.equal(v[5][0], v[4]);
});

test("__proto__ arrives as an own data property and sets no prototype (out and in)", async () => {
  using rx = new RExec({ limits: LIMITS });
  const { value, out } = await counted(() => rx.r_eval(`JSON.parse('{"__proto__": {"polluted": 1}, "b": 2}')`));
  assert.equal(out, 1);
  const v = value as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.ok(Object.hasOwn(v, "__proto__"));
  assert.deepEqual(Object.getOwnPropertyDescriptor(v, "__proto__")?.value, { polluted: 1 });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);

  const probe = (await rx.r_eval("(o) => [Object.getPrototypeOf(o) === Object.prototype, Object.hasOwn(o, '__proto__'), o.__proto__.polluted, ({}).polluted]")) as (o: unknown) => Promise<unknown>;
  const input = JSON.parse('{"__proto__": {"polluted": 1}}') as unknown;
  const r = await counted(() => probe(input));
  assert.equal(r.in, 1, "the binary path was taken in");
  assert.deepEqual(r.value, [true, true, 1, undefined]);
});

test("host → guest: supported kinds arrive exactly over the binary path, defined not assigned", async () => {
  using rx = new RExec({ limits: LIMITS });
  // A guest setter on Object.prototype must not run when the host's value is built.
  await rx.r_exec("globalThis.setterRan = 0; Object.defineProperty(Object.prototype, 'x', { set(v) { setterRan++ }, get() { return 'proto' }, configurable: true });");
  const echo = (await rx.r_eval(`(v) => [v, setterRan, Object.hasOwn(v, 'x'), v.m instanceof Map, v.d instanceof Date, v.u8 instanceof Uint8Array, Object.is(v.z, -0), typeof v.big]`)) as (v: unknown) => Promise<unknown[]>;
  const input = {
    x: 1, s: "a\ud800", z: -0, nan: NaN, big: -(2n ** 70n), d: new Date(5), m: new Map<unknown, unknown>([[1, { k: [1] }]]), set: new Set(["q"]),
    u8: new Uint8Array([1, 2, 3]).subarray(1), ab: new Uint8Array([9]).buffer, nested: [[[]], {}], 7: "seven",
  };
  const { value, in: inn } = await counted(() => echo(input));
  assert.equal(inn, 1);
  const [back, setterRan, own, isMap, isDate, isU8, negZero, bigType] = value;
  assert.deepEqual([setterRan, own, isMap, isDate, isU8, negZero, bigType], [0, true, true, true, true, true, "bigint"]);
  assert.deepEqual(back, input);
});

test("host → guest: what the binary reader cannot express exactly takes the JSON codec", async () => {
  using rx = new RExec({ limits: LIMITS });
  const describe = (await rx.r_eval(`(v) => {
    if (Array.isArray(v)) return ['array', v.length, 1 in v, v[0] === v[2]];
    return Object.keys(v).map((k) => k + ':' + typeof v[k]);
  }`)) as (v: unknown) => Promise<unknown>;
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const cases: Array<[string, unknown, unknown]> = [
    ["holes", [1, , 3], ["array", 3, false, false]], // eslint-disable-line no-sparse-arrays
    ["shared", [shared, 0, shared], ["array", 3, true, true]],
    ["cycle", cyclic, ["self:object"]],
    ["function", { f: () => 1 }, ["f:function"]],
    ["regexp", { r: /a/g }, ["r:object"]],
    ["error", { e: new TypeError("t") }, ["e:object"]],
    ["dataview", { d: new DataView(new ArrayBuffer(2)) }, ["d:object"]],
    ["getter", { get g() { return 1; } }, ["g:number"]],
  ];
  for (const [name, input, expected] of cases) {
    const { value, in: inn } = await counted(() => describe(input));
    assert.equal(inn, 0, `${name}: not the binary path`);
    assert.deepEqual(value, expected, name);
  }
  // 100k-deep nesting in: the flat codec takes it.
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const depth = (await rx.r_eval("(v) => { let d = 0; while (Array.isArray(v) && v.length) { v = v[0]; d++ } return d }")) as (v: unknown) => Promise<number>;
  assert.equal(await depth(deep), 100_000);
});

test("refusals fall back to the JSON codec with today's semantics: getters run once, proxies trap once, holes stay holes", async () => {
  using rx = new RExec({ limits: LIMITS });
  await rx.r_exec("globalThis.log = []");
  const cases: Array<[string, string, (v: unknown) => void, number]> = [
    ["getter", "({ a: 1, get g() { log.push('g'); return 2 } })", (v) => assert.deepEqual(v, { a: 1, g: 2 }), 1],
    ["array element getter", "Object.defineProperty([1, 2], 1, { get() { log.push('e'); return 5 }, enumerable: true })", (v) => assert.deepEqual(v, [1, 5]), 1],
    ["proxy", "new Proxy({ a: 1 }, { ownKeys(t) { log.push('ownKeys'); return Reflect.ownKeys(t) } })", (v) => assert.deepEqual(v, { a: 1 }), 1],
    ["nested proxy", "[new Proxy([7], { get(t, k) { if (k === '0') log.push('get0'); return t[k] } })]", (v) => assert.deepEqual(v, [[7]]), 1],
    ["holes", "[1, , 3]", (v) => { assert.equal((v as unknown[]).length, 3); assert.ok(!(1 in (v as unknown[]))); }, 0],
    ["function", "({ f: function named() {} })", (v) => assert.equal(typeof (v as { f: unknown }).f, "function"), 0],
    ["own then/toJSON functions (nested)", "[{ then() {}, toJSON() {}, keep: 1 }]", (v) => assert.deepEqual(v, [{ keep: 1 }]), 0],
    ["regexp", "[/a(b)?/gi]", (v) => assert.deepEqual(v, [/a(b)?/gi]), 0],
    ["error", "[new RangeError('r')]", (v) => assert.equal(((v as Error[])[0]!).message, "r"), 0],
    ["dataview", "[new DataView(new ArrayBuffer(3), 1)]", (v) => assert.equal(((v as DataView[])[0]!).byteLength, 2), 0],
    ["boxed", "[new Number(1), new String('ab')]", (v) => assert.deepEqual(v, [{}, { 0: "a", 1: "b" }]), 0],
    ["symbol key", "({ [Symbol('s')]: 1, a: 2 })", (v) => assert.deepEqual(v, { a: 2 }), 0],
    ["map subclass", "new (class M extends Map {})([[1, 2]])", (v) => assert.deepEqual(v, new Map([[1, 2]])), 0],
    ["non-enumerable", "Object.defineProperty({ a: 1 }, 'h', { value: 2 })", (v) => assert.deepEqual(v, { a: 1 }), 0],
  ];
  for (const [name, code, check, sideEffects] of cases) {
    await rx.r_exec("log.length = 0");
    check(await rx.r_eval(code));
    assert.equal(await rx.r_eval("log.length"), sideEffects, `${name}: guest code ran exactly as often as with the JSON codec`);
  }
  // A thenable root is refused as today.
  await assert.rejects(rx.r_eval("({ then() {} })"), CloneError);
  // A symbol value is refused as today.
  await assert.rejects(rx.r_eval("[Symbol('x')]"), CloneError);
});

test("hostile shapes never reach the non-polling C writer: sparse arrays, huge lengths, deep nesting, fan-out", async () => {
  using rx = new RExec({ limits: { timeoutMs: 3000, memoryBytes: 64 << 20 } });
  const started = performance.now();
  // Index 2^32-2 ran for minutes in the C writer; here the JSON codec's interruptible loop meets the CPU budget.
  for (const code of ["(() => { const a = []; a[2 ** 32 - 2] = 1; return a })()", "(() => { const a = []; a.length = 2 ** 32 - 1; return [a] })()", "({ x: new Array(2 ** 31) })"]) {
    const error = await rx.r_eval(code).catch((e: unknown) => e);
    assert.ok(error instanceof RExecError, `${code}: ${String(error)}`);
  }
  assert.ok(performance.now() - started < 60_000, "no copy ran unpolled for long");
  // 100k-deep nesting: the flat codec copies it (the C writer and reader recurse).
  const { value: deep, out } = await counted(() => rx.r_eval("(() => { let a = []; for (let i = 0; i < 100000; i++) a = [a]; return a })()"));
  assert.equal(out, 0);
  let d = 0;
  for (let v = deep as unknown[]; v.length > 0; v = v[0] as unknown[]) d++;
  assert.equal(d, 100_000);
  // Shared-reference fan-out: 41 objects, 2^40 tree nodes — the walk bound refuses it on the binary path too.
  const fan = await counted(() => rx.r_eval("(() => { let x = [1]; for (let i = 0; i < 40; i++) x = [x, x]; return x })()").catch((e: unknown) => e));
  assert.ok(fan.value instanceof MemoryLimitError, String(fan.value));
  assert.match((fan.value as Error).message, /walked as a tree/);
});

test("host-function arguments and thrown values cross over the binary path, with today's fallbacks", async () => {
  const seen: unknown[][] = [];
  using rx = new RExec({ limits: LIMITS, globals: { take: (...args: unknown[]) => { seen.push(args); return args.length; } } });
  await rx.r_exec("globalThis.log = []");
  const { value, out } = await counted(() => rx.r_eval("take({ m: new Map([[1, [2n]]]), d: new Date(3), u: new Uint8Array([4]) }, 'two', [-0])"));
  assert.equal(value, 3);
  assert.equal(out, 1, "the arguments took the binary path");
  assert.deepEqual(seen.pop(), [{ m: new Map([[1, [2n]]]), d: new Date(3), u: new Uint8Array([4]) }, "two", [-0]]);
  // A callback, a getter and a hole take the JSON codec, as before (the getter runs once).
  const r = await counted(() => rx.r_eval("take([1, , 3], { get g() { log.push('g'); return 1 } }, () => 5) + log.length"));
  assert.equal(r.value, 4);
  assert.equal(r.out, 0);
  const [holes, getter, callback] = seen.pop()!;
  assert.ok(!(1 in (holes as unknown[])));
  assert.deepEqual(getter, { g: 1 });
  assert.equal(await (callback as () => Promise<number>)(), 5);
  // Thrown values.
  const thrown = await counted(() => rx.r_eval("throw { code: 7, list: [1, 2] }").catch((e: unknown) => e));
  assert.equal(thrown.out, 1);
  assert.deepEqual((thrown.value as { thrown: unknown }).thrown, { code: 7, list: [1, 2] });
});

test("resultBytes bounds what the binary path builds", async () => {
  using rx = new RExec({ limits: { resultBytes: 100_000, timeoutMs: 20_000 } });
  for (const code of ["Array.from({ length: 20000 }, (_, i) => i + 0.5)", "({ s: 'x'.repeat(200000) })", "[new Uint8Array(200000)]", "Array.from({ length: 5000 }, (_, i) => ({ ['k' + i]: i }))"]) {
    await assert.rejects(rx.r_eval(code), MemoryLimitError, code);
  }
  assert.equal(((await rx.r_eval("Array.from({ length: 1000 }, (_, i) => i)")) as unknown[]).length, 1000);
});

test("the build table is learned from the running build and verified", async () => {
  const b = await build();
  assert.ok(b.atomIds.has("length") && b.atomIds.has("__proto__") && b.atomIds.has("constructor"));
  assert.equal(b.atomNames[b.atomIds.get("length")!], "length");
  assert.ok(b.viewKinds.includes("Uint8Array") && b.viewKinds.includes("BigUint64Array"));
});

test("the binary path works in worker mode", async () => {
  using rx = new RExec({ limits: LIMITS, worker: true });
  checkSupported((await rx.r_eval(SUPPORTED)) as Record<string, unknown>);
  const v = (await rx.r_eval("(() => { const o = { x: 1 }; o.self = o; return [o, o, [1, , 3]] })()")) as [Record<string, unknown>, unknown, unknown[]];
  assert.equal(v[0], v[1]);
  assert.equal(v[0].self, v[0]);
  assert.ok(!(1 in v[2]));
  const sum = (await rx.r_eval("(rows) => rows.reduce((s, r) => s + r.id + r.pos.x, 0)")) as (rows: unknown) => Promise<number>;
  assert.equal(await sum(Array.from({ length: 100 }, (_, i) => ({ id: i, pos: { x: 1 } }))), 4950 + 100);
  await assert.rejects(rx.r_eval("(() => { const a = []; a[2 ** 32 - 2] = 1; return a })()"), RExecError);
});

// ---- the decoder on its own: malformed input ----

async function sampleEncodings(): Promise<Uint8Array[]> {
  const engine: Engine = await createQuickJSEngine({ memoryBytes: 32 << 20, stackBytes: 1 << 20, shouldInterrupt: () => false });
  try {
    const out: Uint8Array[] = [];
    for (const code of [SUPPORTED, "[1, 'two', { three: [3] }, null, true]", "(() => { const o = { x: 1 }; o.o = o; return [o, o] })()", "new Map([[1, new Set([2n])]])", "[new Float64Array([1, 2]), new Date(0)]"]) {
      const ref = engine.evalScript(code, "sample");
      out.push(engine.encodeBinary(ref));
      engine.free(ref);
    }
    return out;
  } finally {
    engine.dispose();
  }
}

function decodesOrRefuses(bytes: Uint8Array, b: BjsonBuild, limit = 1 << 20): void {
  try {
    decodeBjson(bytes, b, limit);
  } catch (error) {
    if (error instanceof CloneError || error instanceof MemoryLimitError || error instanceof BjsonRefused) return;
    throw error;
  }
}

test("fuzz: random and mutated byte strings give a value or a typed error, never a crash or hang", async () => {
  const b = await build();
  const samples = await sampleEncodings();
  for (const s of samples) assert.doesNotThrow(() => decodeBjson(s, b, 1 << 24));
  const started = performance.now();
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => decodesOrRefuses(Uint8Array.from([23, ...tail]), b)), { numRuns: 3000 });
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: samples.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      (which, edits, cut) => {
        const bytes = samples[which]!.slice();
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        decodesOrRefuses(bytes, b);
        decodesOrRefuses(bytes.subarray(0, cut % (bytes.length + 1)), b);
      },
    ),
    { numRuns: 3000 },
  );
  // Lengths that claim far more than the buffer holds are refused before anything is allocated.
  for (const bytes of [[23, 0, 9, 0xff, 0xff, 0xff, 0xff, 0x0f], [23, 0, 8, 0xff, 0xff, 0xff, 0xff, 0x0f], [23, 0xff, 0xff, 0xff, 0xff, 0x0f], [23, 0, 7, 0xfe, 0xff, 0xff, 0xff, 0x0f], [23, 0, 15, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x0f], [23, 0, 20, 0], [23, 0, 9, 1, 20, 5]]) {
    assert.throws(() => decodeBjson(Uint8Array.from(bytes), b, 1 << 20), CloneError, JSON.stringify(bytes));
  }
  assert.ok(performance.now() - started < 120_000);
});

test("the decoder is iterative and bounded: 100k-deep nesting, amplification, __proto__ keys", async () => {
  const b = await build();
  // 100k nested arrays: [23, 0, (9, 1) × n, 9, 0]
  const n = 100_000;
  const deep = new Uint8Array(2 + 2 * n + 2);
  deep.set([23, 0]);
  for (let i = 0; i < n; i++) deep.set([9, 1], 2 + 2 * i);
  deep.set([9, 0], 2 + 2 * n);
  let v = decodeBjson(deep, b, 1 << 24) as unknown[];
  let d = 0;
  for (; v.length > 0; v = v[0] as unknown[]) d++;
  assert.equal(d, n);
  assert.throws(() => decodeBjson(deep, b, 100_000), MemoryLimitError);
  // A DAG of 30 arrays whose tree has 2^30 leaves: refused as a walk.
  const fan = [23, 0, 9, 2];
  for (let i = 0; i < 30; i++) fan.push(9, 2);
  fan.push(5, 2, 20, 30);
  for (let i = 29; i >= 0; i--) fan.push(20, i + 1);
  assert.throws(() => decodeBjson(Uint8Array.from(fan), b, 1 << 20), MemoryLimitError);
  // The host encoder writes __proto__ as a string key; the decoder defines it.
  const polluted = decodeBjson(encodeBjson(JSON.parse('{"__proto__": {"x": 1}, "constructor": 2}'), b), b, 1 << 20) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(polluted), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(polluted, "__proto__")?.value, { x: 1 });
  assert.equal(polluted.constructor, 2);
});
