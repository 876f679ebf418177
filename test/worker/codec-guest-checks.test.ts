/**
 * The host thread's checks on what a worker sends (src/worker/codec.ts,
 * walk-bound.ts): a guest function never arrives under an implicit-call name,
 * and a value whose tree walk would cost more than `resultBytes` is refused
 * before the host gets it — whatever the worker-side decoder did. Exercised
 * on the codec directly (encode as the worker does, post through a real
 * MessageChannel, decode as the host does), with fast-check building objects
 * that hide functions under every implicit-call name at any depth.
 */
import assert from "node:assert/strict";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { describe, it } from "node:test";
import fc from "fast-check";
import { IMPLICIT_CALL_NAMES } from "../../src/boundary/implicit-calls.ts";
import { MemoryLimitError } from "../../src/host/errors.ts";
import { decodeValue, encodeValue, type Wire } from "../../src/worker/codec.ts";
import { walkCost } from "../../src/worker/walk-bound.ts";

const LIMIT = 1 << 20;
const checks = { walkLimit: LIMIT };

/** What the host thread receives: the wire through a real structured clone. */
function cross(wire: Wire): Wire {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(wire);
  const received = receiveMessageOnPort(port2)!.message as Wire;
  port1.close();
  port2.close();
  return received;
}

let calls = 0;
const guestFunction = () => () => {
  calls++;
  return Promise.reject(new Error("guest code ran"));
};

function roundTrip(value: unknown): unknown {
  let id = 0;
  return decodeValue(cross(encodeValue(value, () => ++id)), guestFunction, checks);
}

/** Every function reachable in `v`, with the key it sits under (iterative; cycles allowed). */
function functionsIn(v: unknown): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  const stack: Array<[string, unknown]> = [["(root)", v]];
  while (stack.length > 0) {
    const [key, x] = stack.pop()!;
    if (typeof x === "function") found.push(key);
    if (typeof x !== "object" || x === null || seen.has(x)) continue;
    seen.add(x);
    for (const k of Object.keys(x)) stack.push([k, (x as Record<string, unknown>)[k]]);
  }
  return found;
}

const implicitName = fc.constantFrom(...IMPLICIT_CALL_NAMES);
/** Objects, arrays and errors with functions under implicit-call names (and other names) at any depth. */
const hiding: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom(1, "s", null, true),
    fc.constant(() => 1),
    fc.array(tie("node"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(implicitName, fc.constantFrom("a", "b", "name")), tie("node"), { maxKeys: 4 }),
    fc.tuple(implicitName, tie("node")).map(([k, x]) => Object.assign(new Error("e"), { [k]: () => 2, inner: x })),
  ),
})).node;

describe("the host thread's checks on values from a worker", () => {
  it("no guest function arrives under an implicit-call name, at any depth (fast-check)", () => {
    fc.assert(
      fc.property(hiding, implicitName, (inner, k) => {
        const value = { [k]: () => 1, inner, list: [{ [k]: () => 1 }] };
        const out = roundTrip(value);
        const bad = functionsIn(out).filter((key) => IMPLICIT_CALL_NAMES.has(key));
        assert.deepEqual(bad, []);
      }),
      { numRuns: 200 },
    );
  });

  it("a careless host consuming such a value runs no guest code", async () => {
    calls = 0;
    const out = roundTrip({ toJSON: () => 1, toString: () => "x", valueOf: () => 1, then: () => 1, data: 1, f: () => 1 }) as Record<string, unknown>;
    assert.equal(JSON.stringify(out), '{"data":1}');
    assert.equal(String(out), "[object Object]");
    assert.equal(await out, out);
    assert.equal(calls, 0);
    // Under an ordinary name a guest function still arrives, callable on purpose.
    assert.equal(typeof out.f, "function");
    const error = roundTrip(Object.assign(new Error("x"), { toJSON: () => 1, then: () => 1 })) as Error;
    assert.ok(error instanceof Error);
    assert.deepEqual(functionsIn(error), []);
  });

  it("a shared-reference DAG too costly to walk is refused; a cycle and a small DAG cross", () => {
    let dag: unknown = [1];
    for (let i = 0; i < 40; i++) dag = [dag, dag];
    assert.throws(() => roundTrip(dag), (e: unknown) => e instanceof MemoryLimitError && e.limit === "resultBytes" && /walked as a tree/.test(e.message));
    // With a function inside (the marker path of the codec) too.
    let withFn: unknown = [{ f: () => 1 }];
    for (let i = 0; i < 40; i++) withFn = [withFn, withFn];
    assert.throws(() => roundTrip(withFn), MemoryLimitError);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const back = roundTrip(cyclic) as Record<string, unknown>;
    assert.equal(back.self, back);
    let small: unknown = [1];
    for (let i = 0; i < 8; i++) small = [small, small];
    assert.equal(JSON.stringify(roundTrip(small)), JSON.stringify(small));
  });

  it("the walk bound matches a real tree walk on random DAGs and stops early (fast-check)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 30 }), (shape) => {
        // Build a DAG where each level references earlier levels several times.
        const levels: unknown[] = [1];
        for (const fanout of shape) levels.push(Array.from({ length: fanout + 1 }, (_, i) => levels[Math.max(0, levels.length - 1 - i)]));
        const root = levels[levels.length - 1];
        let nodes = 0;
        const stack = [root];
        while (stack.length > 0 && nodes <= LIMIT) {
          const x = stack.pop();
          nodes++;
          if (Array.isArray(x)) stack.push(...x);
        }
        const cost = walkCost(root, LIMIT);
        if (nodes > LIMIT) assert.equal(cost, Infinity);
        // Each node costs at least one unit: a value that is cheap by this bound is cheap to walk.
        else if (cost !== Infinity) assert.ok(cost >= nodes, `${cost} < ${nodes}`);
        // And at most three here (itself, its index key): refused only when truly large.
        else assert.ok(3 * nodes > LIMIT, `refused at ${nodes} nodes`);
      }),
      { numRuns: 200 },
    );
  });
});
