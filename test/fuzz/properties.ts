/**
 * Property-based fuzzing of the boundary (fast-check). Shared by the short CI
 * run (boundary.test.ts) and the long run (long-fuzz.ts, `npm run fuzz`).
 *
 * 1. roundTrip — arbitrary host values go host → guest → host through a guest
 *    identity function and come back deep-equal (or fail with a CloneError).
 * 2. hostileTables — arbitrary JSON, arbitrary node tables and mutated valid
 *    encodings fed straight to decodeGuestValue never throw anything but
 *    CloneError, never pollute, never take long.
 * 3. hostileGuestValues — random guest programs built from hostile pieces
 *    (getters, Proxies, __proto__ keys, cycles, throwing traps) returned to the
 *    host always end in a value or a typed rexec error, quickly.
 */
import fc from "fast-check";
import assert from "node:assert/strict";
import { decodeGuestValue } from "../../src/boundary/host-decode.js";
import { encodeHostValue } from "../../src/boundary/host-encode.js";
import { CloneError, RExec, RExecError, RExecPool } from "../../src/index.js";
import { assertExactCopy } from "./exact-copy.js";

const protoKeys = () => [Object.prototype, Array.prototype, Function.prototype].map((p) => Reflect.ownKeys(p).map(String).sort().join(",")).join("|");
const PROTO_BASELINE = protoKeys();
export function assertNoPollution(): void {
  const probe = {} as Record<string, unknown>;
  assert.equal(probe.polluted, undefined);
  assert.equal(protoKeys(), PROTO_BASELINE, "a host prototype changed");
}

// ---------------------------------------------------------------------------
// 1. Round trip

export const copyableValue = fc.anything({
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: false,
  withBoxedValues: false,
  withObjectString: true,
  values: [
    fc.boolean(), fc.integer(), fc.double(), fc.string(), fc.string({ unit: "binary", maxLength: 8 }), fc.bigInt(),
    fc.constantFrom(null, undefined, -0, 0, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53, "", "\u0000", "\ud800"),
  ],
  maxDepth: 4,
  maxKeys: 6,
  key: fc.oneof(fc.string(), fc.constantFrom("__proto__", "constructor", "prototype", "then", "toJSON", "valueOf", "length", "0", "-1", "1e3")),
});

/** Where the identity runs: an in-thread sandbox, a worker-mode sandbox, or a pool run's `input`. */
export type RoundTripMode = "in-thread" | "worker" | "pool";

export async function roundTripProperty(numRuns: number, seed?: number, mode: RoundTripMode = "in-thread"): Promise<void> {
  const { identity, close } = await identityIn(mode);
  try {
    await fc.assert(
      fc.asyncProperty(copyableValue, async (value) => {
        let back: unknown;
        try {
          back = await identity(value);
        } catch (error) {
          // The only acceptable failure is a clear CloneError (e.g. a symbol key somewhere).
          assert.ok(error instanceof CloneError, `round trip failed with ${String(error)}`);
          return;
        }
        assertExactCopy(back, value);
        assertNoPollution();
      }),
      { numRuns, seed, endOnFailure: true },
    );
  } finally {
    await close();
  }
}

async function identityIn(mode: RoundTripMode): Promise<{ identity: (x: unknown) => Promise<unknown>; close: () => Promise<void> | void }> {
  if (mode === "pool") {
    const pool = new RExecPool({ size: 1, limits: { timeoutMs: 5000 } });
    return { identity: async (x) => (await pool.run("input", { input: x })).value, close: () => pool.close() };
  }
  const rx = new RExec({ limits: { timeoutMs: 5000 }, worker: mode === "worker" });
  const identity = (await rx.r_eval("(x) => x")) as (x: unknown) => Promise<unknown>;
  return { identity, close: () => rx.dispose() };
}

// ---------------------------------------------------------------------------
// 2. Hostile tables for decodeGuestValue

const TAGS = ["v", "o", "a", "n", "d", "r", "m", "s", "b", "t", "e", "f", "x", "", "__proto__", "constructor"];
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -10, max: 20 }),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.constantFrom("__proto__", "constructor", "prototype", "Uint8Array", "DataView", "Float64Array", "gimsuy", "dv", "-ff", "ff", "(a+)+$", ""),
  fc.boolean(),
  fc.constant(null),
  fc.tuple(fc.integer({ min: -8, max: 20 })),
  fc.array(fc.integer({ min: -8, max: 20 }), { maxLength: 3 }),
  fc.constant({ polluted: "yes" }),
);
const hostileNode = fc.tuple(fc.constantFrom(...TAGS), fc.array(junk, { maxLength: 8 })).map(([tag, rest]) => [tag, ...rest]);
export const hostileTable = fc.oneof(
  fc.array(hostileNode, { minLength: 1, maxLength: 12 }).map((nodes) => JSON.stringify(nodes)),
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 40 }),
  // A valid encoding, then one element somewhere replaced by junk.
  fc.tuple(copyableValue, fc.nat(), fc.nat(), junk).map(([value, ni, ei, replacement]) => {
    let json: string;
    try {
      json = encodeHostValue(value, () => 1).json;
    } catch {
      return "[]";
    }
    const nodes = JSON.parse(json) as unknown[][];
    const node = nodes[ni % nodes.length]!;
    node[ei % node.length] = replacement;
    return JSON.stringify(nodes);
  }),
);
const bufferList = fc.array(fc.uint8Array({ maxLength: 16 }), { maxLength: 3 });

export function hostileTableProperty(numRuns: number, seed?: number): void {
  fc.assert(
    fc.property(hostileTable, bufferList, (json, buffers) => {
      const t0 = performance.now();
      try {
        decodeGuestValue(json, buffers, (id, name) => Object.assign(async () => undefined, { id, fnName: name }));
      } catch (error) {
        assert.ok(error instanceof CloneError, `decoder threw ${String(error)} for ${json.slice(0, 200)}`);
      }
      assert.ok(performance.now() - t0 < 200, "decode took too long");
      assertNoPollution();
    }),
    { numRuns, seed, endOnFailure: true },
  );
}

// ---------------------------------------------------------------------------
// 3. Hostile guest values

const leaf = fc.constantFrom(
  "1", "-0", "NaN", "'s'", "10n", "null", "undefined", "true", "Symbol('x')", "new WeakMap()", "Promise.resolve(1)",
  "new Date(NaN)", "/a+/g", "new Uint8Array([1,2])", "new ArrayBuffer(3)", "new DataView(new ArrayBuffer(2), 1)", "(() => 1)",
  "new Error('e')", "Object.create(null)", "globalThis", "Object.prototype", "Array.prototype", "Math", "JSON",
);
const hostileKey = fc.constantFrom("a", "__proto__", "constructor", "then", "toJSON", "0", "length", "prototype", "valueOf");
export const guestSource: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("v"), { maxLength: 4 }).map((xs) => `[${xs.join(",")}]`),
    fc.array(fc.tuple(hostileKey, tie("v")), { maxLength: 4 }).map((kv) => `(() => { const o = {}; ${kv.map(([k, v]) => `Object.defineProperty(o, ${JSON.stringify(k)}, { value: ${v}, enumerable: true, configurable: true });`).join(" ")} return o })()`),
    tie("v").map((v) => `({ get g() { return ${v} } })`),
    fc.constant("({ get g() { throw new Error('getter') } })"),
    fc.constant("({ get g() { for (;;) {} } })"),
    tie("v").map((v) => `new Proxy(Object(${v}), {})`),
    fc.constant("new Proxy({}, { ownKeys() { throw 1 } })"),
    fc.constant("(() => { const o = { a: 1 }; o.self = o; return o })()"),
    fc.tuple(tie("v"), tie("v")).map(([k, v]) => `new Map([[${k}, ${v}]])`),
    tie("v").map((v) => `new Set([${v}])`),
    tie("v").map((v) => `Object.assign(new Error('x'), { extra: ${v} })`),
    tie("v").map((v) => `(() => { class C { constructor() { this.x = ${v} } } return new C() })()`),
  ),
})).v;

export async function hostileGuestValueProperty(numRuns: number, seed?: number): Promise<void> {
  let rx = new RExec({ limits: { timeoutMs: 200, resultBytes: 256 * 1024 } });
  try {
    await fc.assert(
      fc.asyncProperty(guestSource, async (source) => {
        if (!rx.alive) rx = new RExec({ limits: { timeoutMs: 200, resultBytes: 256 * 1024 } });
        const t0 = performance.now();
        try {
          await rx.r_eval(source);
        } catch (error) {
          assert.ok(error instanceof RExecError, `host got a non-rexec error: ${String(error)} for ${source}`);
        }
        assert.ok(performance.now() - t0 < 3000, `copy took too long for ${source}`);
        assertNoPollution();
      }),
      { numRuns, seed, endOnFailure: true },
    );
  } finally {
    rx.dispose();
  }
}
