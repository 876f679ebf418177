// Attack class: CPU shapes — native calls the engine's interrupt cannot stop.
// QuickJS polls its interrupt handler only while running bytecode, and only
// every so many polls, so a long C loop (or a loop around long C calls) can run
// far past `timeoutMs`. Each shape here must end with TimeoutError (or a clear
// limit error) within a generous bound, and the host must survive:
//
// - "all" shapes are bounded in-thread (by guards in native-guards.js and the
//   interrupt pacer in src/engine/interrupt-pacer.ts) and are run in-thread,
//   in worker mode and in the pool;
// - "worker" shapes are single native calls only the worker's wall-clock
//   watchdog can stop (SECURITY.md, "CPU shapes"); they run in worker mode and
//   in the pool only.
//
// Measured overshoots: bench/cpu-shapes.mjs. The bounds here are hang-guards.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { GuestError, MemoryLimitError, RExec, TimeoutError } from "../../src/index.js";
import { RExecPool } from "../../src/pool/index.js";

type Ctor = abstract new (...a: never[]) => Error;
interface Shape {
  readonly name: string;
  readonly code: string;
  readonly bound: "all" | "worker";
  readonly errors?: readonly Ctor[];
}

// Where the engine's poll counter stands when a loop starts decides how many
// iterations run before the first handler call (up to ~10000 polls). A guest
// can move it with a tight loop first; the guards must not depend on it, so
// some shapes run with such a warm-up and some without.
const WARM = "for (let i = 0; i < 100000; i++) {}\n";

export const SHAPES: readonly Shape[] = [
  // C loops that allocate nothing: no memory limit ever stops them.
  { name: "fill on an array-like over a typed-array prototype", code: "Array.prototype.fill.call({ length: 2 ** 53, __proto__: new Uint8Array(0) }, 0)", bound: "all" },
  { name: "fill with a start near 2^53", code: "Array.prototype.fill.call({ length: 2 ** 53 - 1, __proto__: new Uint8Array(0) }, 0, 2 ** 40)", bound: "all" },
  // Per-element text conversion in C.
  { name: "join of a 2M-element Float64Array", code: "new Float64Array(2e6).fill(1.5).join()", bound: "all" },
  { name: "toString of a 2M-element Float64Array", code: "String(new Float64Array(2e6).fill(1.5))", bound: "all" },
  { name: "join of a 1M-element array of doubles", code: "const a = new Array(2 ** 20).fill(1.1); for (;;) a.join()", bound: "all" },
  // Loops around long natives, after warming the poll counter.
  { name: "loop of global regex replaces", code: "const s = 'a'.repeat(3e5); for (;;) s.replace(/a/g, '')", bound: "all" },
  { name: "loop of string replaceAll", code: WARM + "const s = 'a'.repeat(3e5); for (;;) s.replaceAll('a', 'b')", bound: "all" },
  { name: "loop of string splits", code: "const s = 'ab'.repeat(2e5); for (;;) s.split('b')", bound: "all" },
  { name: "loop of JSON.parse", code: "const t = JSON.stringify(Array.from({ length: 1e5 }, (_, i) => i)); for (;;) JSON.parse(t)", bound: "all" },
  { name: "loop of JSON.stringify", code: "const v = Array.from({ length: 1e5 }, (_, i) => i); for (;;) JSON.stringify(v)", bound: "all" },
  { name: "loop of normalize", code: "const s = 'é'.repeat(3e5); for (;;) s.normalize('NFD')", bound: "all" },
  { name: "loop of normalize after a warm-up", code: WARM + "const s = 'é'.repeat(3e5); for (;;) s.normalize('NFD')", bound: "all" },
  // Single natives bounded only by what memory lets the guest build.
  { name: "String of a 1M-bit BigInt", code: "String((1n << 1048000n) - 1n)", bound: "worker" },
  { name: "default sort of big BigInts", code: "const x = (1n << 1000000n) - 1n; [x, x, x].sort()", bound: "worker" },
  // BigInt text conversions (guarded: long decimal parses refused, polls after long ones).
  { name: "loop of BigInt parses of 300k digits (refused)", code: WARM + "const s = '9'.repeat(3e5); for (;;) BigInt(s)", bound: "all", errors: [GuestError] },
  { name: "loop of BigInt parses of 60k digits", code: WARM + "const s = '9'.repeat(6e4); for (;;) BigInt(s)", bound: "all" },
  { name: "loop of BigInt toString of 200k bits", code: WARM + "const x = 2n ** 200000n; for (;;) x.toString()", bound: "all" },
  { name: "regex replace over 40M characters", code: "'a'.repeat(4e7).replace(/a/g, '')", bound: "worker", errors: [TimeoutError, MemoryLimitError] },
  { name: "Function of a 4 MB source", code: "Function('x=1;'.repeat(1e6))", bound: "worker", errors: [TimeoutError, MemoryLimitError, GuestError] },
];

const TIMEOUT_MS = 100;
const LIMITS = { timeoutMs: TIMEOUT_MS, memoryBytes: 64 * 1024 * 1024 };
/** Hang-guards, generous for a loaded 2-core machine. */
const IN_THREAD_BOUND_MS = 4000;
const WORKER_BOUND_MS = 10000;

function expected(shape: Shape): readonly Ctor[] {
  return shape.errors ?? [TimeoutError];
}

async function endsWith(shape: Shape, run: () => Promise<unknown>, boundMs: number): Promise<void> {
  const start = performance.now();
  const outcome = await run().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const ms = performance.now() - start;
  assert.ok(!outcome.ok, `${shape.name}: returned normally after ${ms.toFixed(0)} ms`);
  const error = outcome.error;
  assert.ok(expected(shape).some((C) => error instanceof C), `${shape.name}: expected ${expected(shape).map((c) => c.name).join(" or ")}, got ${String(error)}`);
  assert.ok(ms < boundMs, `${shape.name}: took ${ms.toFixed(0)} ms (bound ${boundMs} ms)`);
}

/**
 * A trivial call after the shape. The budget is wall time while guest code
 * runs, and this sandbox's is 100 ms: a loaded 2-core CI machine once
 * descheduled the thread that long during it (TimeoutError). A sandbox the
 * shape broke fails every attempt; a descheduled one passes the next.
 */
async function stillWorks(rx: RExec): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await rx.r_eval("[1, 2, 3].join('-') + new Uint8Array(2).join()");
    } catch (error) {
      if (!(error instanceof TimeoutError) || attempt === 3) throw error;
    }
  }
}

describe("CPU shapes, in-thread", () => {
  const rx = new RExec({ limits: LIMITS });
  after(() => rx.dispose());
  for (const shape of SHAPES.filter((s) => s.bound === "all")) {
    it(shape.name, async () => {
      // In a block: the shapes share this sandbox's global scope.
      await endsWith(shape, () => rx.r_eval(`{\n${shape.code}\n}`), IN_THREAD_BOUND_MS);
      // The sandbox, and the guards in it, still work.
      assert.equal(await stillWorks(rx), "1-2-3" + "0,0");
    });
  }
});

describe("CPU shapes, worker mode", () => {
  for (const shape of SHAPES) {
    it(shape.name, async () => {
      const rx = new RExec({ worker: true, limits: LIMITS });
      try {
        await rx.r_eval("1");
        await endsWith(shape, () => rx.r_eval(shape.code), WORKER_BOUND_MS);
      } finally {
        rx.dispose();
      }
    });
  }
});

describe("CPU shapes, pool", () => {
  const pool = new RExecPool({ size: 1, limits: LIMITS });
  after(() => pool.close({ force: true }));
  for (const shape of SHAPES) {
    it(shape.name, async () => {
      await endsWith(shape, () => pool.run(shape.code), WORKER_BOUND_MS);
      assert.equal((await pool.run("6 * 7")).value, 42);
    });
  }
});

describe("CPU shapes: guards keep the originals' faces and results", () => {
  const rx = new RExec({ limits: { timeoutMs: 5000 } });
  after(() => rx.dispose());
  it("names, lengths and results", async () => {
    const faces = await rx.r_eval(`
      const f = (o, k) => [o[k].name, o[k].length];
      [f(Array.prototype, "fill"), f(Object.getPrototypeOf(Uint8Array.prototype), "join"), f(String.prototype, "replace"),
       f(String.prototype, "split"), f(RegExp.prototype, Symbol.replace), f(JSON, "parse"), f(JSON, "stringify")]`);
    assert.deepEqual(faces, [["fill", 1], ["join", 1], ["replace", 2], ["split", 2], ["[Symbol.replace]", 2], ["parse", 2], ["stringify", 3]]);
    const results = await rx.r_eval(`
      const big = 'a'.repeat(3e5);
      [Array.prototype.fill.call({ length: 2 ** 21 }, 7, 2 ** 21 - 2)[2 ** 21 - 1],
       Array.prototype.fill.call({ length: 5 }, 1, -2)[3],
       new Float64Array(2 ** 17).fill(0.5).join().length,
       new Uint8Array(3).join('-'),
       new Array(2 ** 17).fill(1).join('').length,
       big.replace(/a/g, 'b').length, big.split(/a/).length, JSON.parse(JSON.stringify(big)).length]`);
    assert.deepEqual(results, [7, 1, 2 ** 17 * 4 - 1, "0-0-0", 2 ** 17, 3e5, 3e5 + 1, 3e5]);
  });
});
