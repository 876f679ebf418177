// The round-trip oracle must tell apart what a copy has to keep, and must not
// fail a copy that is exact (Node 20's deepStrictEqual failed invalid Dates).
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertExactCopy } from "./exact-copy.js";

test("exact-copy oracle: accepts exact copies, including invalid Dates, NaN and holes", () => {
  const sparse: unknown[] = [];
  sparse[3] = new Date(NaN);
  const make = () => [NaN, -0, new Date(NaN), new Set([1n, "x", new Date(NaN)]), new Map([[{ a: 1 }, [,]]]), sparse, new Uint16Array([1, 2]), Object.create(null)];
  assertExactCopy(make(), make());
});

test("exact-copy oracle: rejects each way a copy can go wrong", () => {
  const cases: Array<[string, unknown, unknown]> = [
    ["Set order", new Set([1n, 2n]), new Set([2n, 1n])],
    ["Map order", new Map([[1, 1], [2, 2]]), new Map([[2, 2], [1, 1]])],
    ["key order", { a: 1, b: 2 }, { b: 2, a: 1 }],
    ["-0", [-0], [0]],
    ["hole vs undefined", [, 1], [undefined, 1]],
    ["Date time", new Date(0), new Date(1)],
    ["invalid vs valid Date", new Date(NaN), new Date(0)],
    ["prototype", Object.create(null), {}],
    ["typed array kind", new Uint8Array([1]), new Int8Array([1])],
    ["bytes", new Uint8Array([1, 2]), new Uint8Array([1, 3])],
    ["bigint", 1n, 2n],
    ["lost sharing", [{}, {}], (() => { const o = {}; return [o, o]; })()],
    ["invented sharing", (() => { const o = {}; return [o, o]; })(), [{}, {}]],
  ];
  for (const [name, copy, original] of cases) {
    assert.throws(() => assertExactCopy(copy, original), assert.AssertionError, name);
  }
});
