/**
 * The round-trip oracle: is `actual` an exact copy of `expected`?
 *
 * Why not `assert.deepStrictEqual`: on Node 20 it calls two invalid Dates
 * unequal (it compares their times with ===, and NaN !== NaN), so any value
 * holding `new Date(NaN)` failed the fuzz run although the copy was exact; and
 * it compares Sets and Maps without regard to order and object keys without
 * regard to order, while a copy must keep both. This oracle states what a
 * copy must keep, and nothing else:
 * - primitives by `Object.is` (NaN equals NaN, -0 differs from 0);
 * - the same prototype, the same own keys in the same order, holes as holes;
 * - Dates by time (`Object.is`, so invalid equals invalid);
 * - Maps and Sets entry by entry in insertion order;
 * - typed arrays, DataViews and ArrayBuffers by kind, length and bytes.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";

export function assertExactCopy(actual: unknown, expected: unknown): void {
  const problem = differ(actual, expected, "value", new Map());
  if (problem !== null) {
    assert.fail(`${problem}\n  copy:     ${inspect(actual, { depth: 6 })}\n  original: ${inspect(expected, { depth: 6 })}`);
  }
}

/** The first difference, as "where: what", or null when the copy is exact. */
function differ(actual: unknown, expected: unknown, where: string, seen: Map<object, unknown>): string | null {
  if (typeof expected !== "object" || expected === null || typeof actual !== "object" || actual === null) {
    return Object.is(actual, expected) ? null : `${where}: ${inspect(actual)} is not ${inspect(expected)}`;
  }
  // Sharing (and cycles) must match both ways: shared in the original iff shared in the copy.
  if (seen.has(expected) || seen.has(actual)) {
    return seen.get(expected) === actual && seen.get(actual) === expected ? null : `${where}: sharing differs from the original's`;
  }
  seen.set(expected, actual);
  seen.set(actual, expected);
  if (Object.getPrototypeOf(actual) !== Object.getPrototypeOf(expected)) return `${where}: another prototype`;
  if (expected instanceof Date) return Object.is((actual as Date).getTime(), expected.getTime()) ? null : `${where}: another time`;
  if (ArrayBuffer.isView(expected) || expected instanceof ArrayBuffer) return differBytes(actual as ArrayBufferView | ArrayBuffer, expected, where);
  if (expected instanceof Map || expected instanceof Set) {
    const a = [...(actual as Map<unknown, unknown> | Set<unknown>).entries()];
    const e = [...expected.entries()];
    if (a.length !== e.length) return `${where}: ${a.length} entries, not ${e.length}`;
    for (let i = 0; i < e.length; i++) {
      const problem = differ(a[i]![0], e[i]![0], `${where} entry ${i} key`, seen) ?? differ(a[i]![1], e[i]![1], `${where} entry ${i} value`, seen);
      if (problem !== null) return problem;
    }
  }
  const aKeys = Reflect.ownKeys(actual);
  const eKeys = Reflect.ownKeys(expected);
  if (aKeys.length !== eKeys.length || aKeys.some((key, i) => key !== eKeys[i])) {
    return `${where}: own keys [${aKeys.map(String).join(",")}], not [${eKeys.map(String).join(",")}]`;
  }
  for (const key of eKeys) {
    const problem = differ(Reflect.get(actual, key), Reflect.get(expected, key), `${where}[${String(key)}]`, seen);
    if (problem !== null) return problem;
  }
  return null;
}

function differBytes(actual: ArrayBufferView | ArrayBuffer, expected: ArrayBufferView | ArrayBuffer, where: string): string | null {
  const bytes = (v: ArrayBufferView | ArrayBuffer) => (v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  const a = bytes(actual);
  const e = bytes(expected);
  if (a.length !== e.length) return `${where}: ${a.length} bytes, not ${e.length}`;
  const at = e.findIndex((byte, i) => a[i] !== byte);
  return at === -1 ? null : `${where}: byte ${at} differs`;
}
