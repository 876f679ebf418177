/**
 * A short warm-up that lets V8 optimise the engine's wasm code before the
 * first real guest call.
 *
 * Why: V8 starts wasm in baseline (Liftoff) code and moves a function to
 * optimised (TurboFan) code only when it is *next called* after it got hot. A
 * guest call is one long run of the interpreter's main function, so the first
 * heavy call in a process stays in baseline code from start to end and ran ~3×
 * slower than later ones (ENGINE-FACTS §10). A few small evals of a mixed
 * workload make the hot functions tier up first.
 *
 * Optimised code belongs to the compiled module and is shared by every instance
 * of it, and by every thread the module is posted to (spawn.ts): measured, a
 * worker given a module another thread had warmed up ran its first round in
 * optimised code (~3–8 ms, against ~50–100 ms for a cold one). So one warm-up
 * per process is enough: a flag in shared memory ({@link warmUpFlag}), posted
 * to workers with the module, tells every thread whether some thread has
 * already done it or is doing it. Threads that start together (a pool's) do
 * not all warm up: one does, the others wait for it without blocking.
 *
 * It runs in its own throwaway engine instance, never in a tenant's: no guest
 * code runs in it, and nothing of it is kept.
 *
 * @packageDocumentation
 */
import { BroadcastChannel, threadId } from "node:worker_threads";
import { createQuickJSEngine } from "./engine-factory.js";
import { ENGINE_VARIANT, type EngineVariantName } from "./wasm-variant.js";

/**
 * The workload: loops, calls, closures, property access, arrays, strings,
 * sorting and JSON — the interpreter paths a typical guest spends its time in.
 * Small enough that one round takes a few milliseconds even in baseline code.
 */
const WORKLOAD = `(() => {
  function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
  let s = fib(15);
  const o = { a: 1, b: "x", c: [1, 2, 3] };
  const rows = [];
  for (let i = 0; i < 300; i++) rows.push({ id: i, name: "n" + i, v: (i * 7919) % 1000, o });
  rows.sort((x, y) => x.v - y.v);
  s += rows.map((r) => r.v).filter((v) => v & 1).reduce((a, b) => a + b, 0);
  const text = JSON.stringify(rows.slice(0, 100));
  s += JSON.parse(text).length + text.length;
  let str = "";
  for (let i = 0; i < 200; i++) str += String.fromCharCode(97 + (i % 26));
  s += str.split("a").join("-").length + str.indexOf("xyz");
  const m = new Map();
  for (let i = 0; i < 200; i++) m.set("k" + (i % 50), i);
  for (const [k, v] of m) s += v + k.length;
  class P { constructor(x) { this.x = x; } get y() { return this.x * 2; } }
  for (let i = 0; i < 300; i++) s += new P(i).y;
  try { null.x; } catch (e) { s += 1; }
  return s;
})()`;

/**
 * Every warm-up that actually runs is announced on this channel, which reaches
 * every thread of the process: tests check there is one per process. Not part
 * of the public API.
 */
export const WARM_UP_CHANNEL = "rexec:debug:warm-up";

/** Rounds of {@link WORKLOAD} that a warm-up runs. Measured in bench/first-call.mjs. */
export const WARM_UP_ROUNDS = 30;

/** Variants this thread has warmed up (or is warming up). */
const warmed = new Map<EngineVariantName, Promise<void>>();

/** Flag states. */
const COLD = 0;
const WARM = 1;
const WARMING = 2;
/**
 * How long a thread waits for another thread's warm-up before doing its own:
 * the warming thread may have been terminated mid-way. A warm-up takes
 * ~250 ms on an idle machine, ~500 ms on a busy one.
 */
const WAIT_FOR_OTHER_MS = 3000;

/** Per variant: {@link COLD}, {@link WARMING} or {@link WARM} for the whole process (shared memory). */
const flags = new Map<EngineVariantName, Int32Array>();

/** The process-wide "warmed up" flag of `variant`, to post to a worker with the module. */
export function warmUpFlag(variant: EngineVariantName): SharedArrayBuffer {
  let flag = flags.get(variant);
  if (!flag) {
    flag = new Int32Array(new SharedArrayBuffer(4));
    flags.set(variant, flag);
  }
  return flag.buffer as SharedArrayBuffer;
}

/** Worker side: use the host's flag (see {@link warmUpFlag}). */
export function adoptWarmUpFlag(variant: EngineVariantName, buffer: SharedArrayBuffer): void {
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < 4) throw new TypeError("adoptWarmUpFlag: not a flag buffer");
  if (!flags.has(variant)) flags.set(variant, new Int32Array(buffer, 0, 1));
}

/** Time this thread spent in warm-ups, in ms (reported by the bench). */
let spentMs = 0;

/**
 * Warm up the engine of `variant` once per thread; later calls return the
 * same promise. Never rejects: a warm-up that fails only leaves the engine in
 * baseline code, which is slower but correct.
 */
export function warmUpEngine(variant: EngineVariantName = ENGINE_VARIANT, rounds = WARM_UP_ROUNDS): Promise<void> {
  let done = warmed.get(variant);
  if (!done) {
    done = runWarmUp(variant, rounds).catch(() => {});
    warmed.set(variant, done);
  }
  return done;
}

/**
 * Do not warm up in this thread (workers it starts still may). For one-shot
 * runs where start-up latency matters more than the speed of a first heavy
 * call — the CLI's `eval`, which would otherwise pay ~250–480 ms to evaluate
 * `1 + 1`.
 */
export function skipWarmUpInThisThread(variant: EngineVariantName = ENGINE_VARIANT): void {
  if (!warmed.has(variant)) warmed.set(variant, Promise.resolve());
}

/** Milliseconds this thread has spent warming up (for the bench). */
export function warmUpCostMs(): number {
  return spentMs;
}

/** `Atomics.waitAsync` (Node 16+), not yet in this TypeScript lib. */
interface AtomicsWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}

async function runWarmUp(variant: EngineVariantName, rounds: number): Promise<void> {
  const flag = new Int32Array(warmUpFlag(variant), 0, 1);
  const before = Atomics.compareExchange(flag, 0, COLD, WARMING);
  // Some thread of this process already did it: the shared code is optimised.
  if (before === WARM) return;
  if (before === WARMING) {
    // Another thread is at it: wait (asynchronously) rather than repeat the work.
    const waited = (Atomics as unknown as AtomicsWaitAsync).waitAsync(flag, 0, WARMING, WAIT_FOR_OTHER_MS);
    if (waited.async) await waited.value;
    if (Atomics.load(flag, 0) === WARM) return;
  }
  const t0 = performance.now();
  const channel = new BroadcastChannel(WARM_UP_CHANNEL);
  channel.postMessage({ variant, threadId });
  channel.close();
  let engine: Awaited<ReturnType<typeof createQuickJSEngine>> | undefined;
  try {
    engine = await createQuickJSEngine({ variant, memoryBytes: 32 * 1024 * 1024, stackBytes: 256 * 1024, shouldInterrupt: () => false, warmUp: false });
    for (let i = 0; i < rounds; i++) engine.free(engine.evalScript(WORKLOAD, "<rexec:warm-up>"));
    Atomics.store(flag, 0, WARM);
  } finally {
    // Done or failed: never leave others waiting for this thread.
    if (Atomics.load(flag, 0) !== WARM) Atomics.store(flag, 0, COLD);
    Atomics.notify(flag, 0);
    engine?.dispose();
    spentMs += performance.now() - t0;
  }
}
