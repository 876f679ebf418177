/**
 * Unhandled guest promise rejections, observed through QuickJS's own host
 * promise-rejection tracker, without rebuilding the engine.
 *
 * Invariant protected: a guest promise rejected with no handler when a call
 * ends fails that call (as Node fails a script), and **never a false
 * positive**: a rejection is reported only if the engine itself said it was
 * unhandled and never said it was handled afterwards, and rexec did not read
 * it as the outcome of something the host awaits. When in doubt (an event
 * could not be recorded), nothing is reported.
 *
 * QuickJS calls `rt->host_promise_rejection_tracker(ctx, promise, reason,
 * is_handled, opaque)` when a promise is rejected with no handler
 * (`is_handled` 0) and when a handler is attached to such a promise later
 * (`is_handled` 1), in both builds. The pinned builds export neither
 * `JS_SetHostPromiseRejectionTracker` nor their function table, so:
 *
 * 1. the wasm binary is patched once per process to export its (growable)
 *    function table (wasm-table-export.ts);
 * 2. a tiny wasm module provides a function of the tracker's signature
 *    `(i32 ctx, i64 promise, i64 reason, i32 handled, i32 opaque)` that
 *    records events in a buffer in engine memory (rejection-recorder.ts: no
 *    call into JavaScript at the guest's deepest recursion);
 * 3. the table grows by one slot holding that function;
 * 4. the slot's index is written into the runtime's tracker field, whose
 *    offset in `struct JSRuntime` was measured per build (see
 *    {@link TRACKER_OFFSETS}).
 *
 * Step 4 writes into engine memory at a measured offset, so before any guest
 * code runs, the neighbourhood is checked on every instance (the field and
 * its opaque are null, the job list that follows is an empty list pointing
 * at itself), and on the first instance of each build in the process a
 * self-test runs `Promise.reject(12345)` then `.catch` on it and must find
 * exactly the record, the reference count and the cancellation expected. On
 * any mismatch the field is restored to null and tracking stays off for this
 * build in this process (logged once): the run then behaves as before
 * (rejections ignored), it never reports one that did not happen.
 *
 * Each recorded promise holds one reference (its count incremented in place,
 * as `JS_DupValue` does) until it is handled, taken, or the engine goes, so
 * its address cannot be reused by another promise while it is recorded.
 *
 * @packageDocumentation
 */
import { newRecorder, RECORDER_CAPACITY, type Recorder } from "./rejection-recorder.js";
import type { EngineVariantName } from "./wasm-variant.js";

/**
 * Byte offset of `host_promise_rejection_tracker` in `struct JSRuntime`, wasm32
 * builds of quickjs-emscripten 0.32.0. Measured by diffing the runtime around
 * `setInterruptHandler` (interrupt_handler at 160 in QuickJS-ng 0.12.1, 152 in
 * classic 2025-09-13) and reading quickjs.c: QuickJS-ng has the promise hook
 * pair and `parent_promise` in between (+20), classic only `interrupt_opaque` (+8).
 */
const TRACKER_OFFSETS: Readonly<Record<EngineVariantName, number>> = { "quickjs-ng": 180, quickjs: 160 };

/** `JS_TAG_OBJECT` in both builds: a NaN-boxed object is `(-1 << 32) | address`. */
const TAG_OBJECT = -1;
const TWO_32 = 4294967296;

/** A wasm function table (`WebAssembly.Table`). */
export interface WasmTable {
  readonly length: number;
  grow(delta: number): number;
  set(index: number, value: unknown): void;
}

/** A dup'd guest value held on the host (a quickjs-emscripten handle). */
export interface HeldValue {
  /** Address of the heap JSValue the handle owns. */
  readonly value: number;
  readonly alive: boolean;
  dispose(): void;
}

/** What the tracker needs from the engine that owns it. */
export interface TrackerHost {
  readonly memory: WebAssembly.Memory;
  /** The instance's function table (exported by wasm-table-export.ts), if any. */
  readonly table: WasmTable | undefined;
  readonly runtimePointer: number;
  readonly variant: EngineVariantName;
  /** Dup the JSValue stored at `address` into a new held handle; undefined when that failed (out of memory). */
  hold(address: number): HeldValue | undefined;
  /** `JS_FreeValue` the JSValue stored at `address`, then free `address` (which came from {@link TrackerHost.malloc}). */
  freeValueAt(address: number): void;
  /** Allocate / free engine heap bytes (0 when out of memory). */
  malloc(bytes: number): number;
  free(address: number): void;
  /** Evaluate a script; returns a held handle of its value (throws if it threw). */
  evalScript(code: string): HeldValue;
  /** Call `fn` with one argument; disposes the result (throws if it threw). */
  callOne(fn: HeldValue, arg: HeldValue): void;
  /** Run queued promise jobs. */
  runJobs(): void;
  /** Where an instance keeps its recorder across tenants (restored engines only). */
  readonly recorderCache?: RecorderCache;
  log(line: string): void;
}

/** A recorder kept by a wasm instance across its tenants, and the tracker it reports to now. */
export interface RecorderCache {
  recorder?: Recorder;
  owner?: { drain(): void };
}

/** What a realm image keeps of a tracker (see {@link RejectionTracker.captureState}). */
export interface TrackerImageState {
  readonly fieldAddress: number;
  readonly slot: number;
  readonly scratch: number;
  readonly bufferAddress: number;
}

/**
 * Thrown by {@link RejectionTracker.install} when the self-test left the engine
 * in an unknown state: drop that instance and build another (the tracker is
 * then off for this build, so it will not happen twice).
 */
export class TrackerBrokeEngine extends Error {
  constructor(cause: Error) {
    super("the rejection tracker's self-test broke the engine", { cause });
    this.name = "TrackerBrokeEngine";
  }
}

/** Builds (variants) whose tracker failed its checks once: not tried again in this process. */
const unavailable = new Set<EngineVariantName>();
/** Builds whose tracker passed its self-test in this process. */
const verified = new Set<EngineVariantName>();

export class RejectionTracker {
  /** Addresses of unhandled rejected promises, in rejection order; each holds one reference. */
  private readonly records = new Set<number>();
  private recorder: Recorder | undefined;
  private active = false;
  /** Promises no longer recorded whose reference may be the last one: given back at the next safe point. */
  private readonly deferred: number[] = [];
  /** An event could not be recorded since the last take: report nothing then. */
  private lost = false;
  private fieldAddress = -1;
  private scratch = 0;
  private bufferAddress = 0;
  private buffer: ArrayBuffer | undefined;
  private view: DataView | undefined;
  private ints: Int32Array | undefined;

  private constructor(private readonly host: TrackerHost) {}

  /**
   * Install a tracker on a fresh engine (no guest code run yet, no job
   * pending) and verify it. Returns a tracker that may be inactive: then
   * {@link RejectionTracker.take} always returns nothing.
   */
  static install(host: TrackerHost): RejectionTracker {
    const tracker = new RejectionTracker(host);
    if (unavailable.has(host.variant)) return tracker;
    let why: string | undefined;
    try {
      why = tracker.tryInstall();
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError) {
        // The engine trapped or overflowed inside the self-test: its state is
        // unknown, so nothing more is called on it.
        tracker.abandon();
        unavailable.add(host.variant);
        host.log(`unhandled-rejection tracking unavailable for ${host.variant}: its self-test broke the engine (${error.message}); unhandled guest rejections are ignored`);
        throw new TrackerBrokeEngine(error);
      }
      why = `its self-test threw (${(error as Error)?.message})`;
    }
    if (why !== undefined) {
      tracker.shutDown();
      unavailable.add(host.variant);
      host.log(`unhandled-rejection tracking unavailable for ${host.variant}: ${why}; unhandled guest rejections are ignored`);
    }
    return tracker;
  }

  /** True when rejections are being tracked. */
  get enabled(): boolean {
    return this.active;
  }

  /** Views of the current buffer (growing the memory detaches the old one). */
  private words(): DataView {
    const buffer = this.host.memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.view = new DataView(buffer);
      this.ints = new Int32Array(buffer);
    }
    return this.view!;
  }

  private int32s(): Int32Array {
    this.words();
    return this.ints!;
  }

  /** Install and self-test; returns why it cannot be used, or undefined when it works. */
  private tryInstall(): string | undefined {
    const { table, runtimePointer, memory } = this.host;
    if (!table) return "the engine's function table could not be exported";
    const field = runtimePointer + TRACKER_OFFSETS[this.host.variant];
    if (field % 4 !== 0 || field + 16 > memory.buffer.byteLength) return "the runtime layout is not the measured one";
    const view = this.words();
    const jobList = field + 8;
    // Tracker and its opaque unset; the job list right after them empty (next = prev = itself).
    if (view.getUint32(field, true) !== 0 || view.getUint32(field + 4, true) !== 0 || view.getUint32(jobList, true) !== jobList || view.getUint32(jobList + 4, true) !== jobList) {
      return "the runtime layout is not the measured one";
    }
    this.scratch = this.host.malloc(8);
    this.bufferAddress = this.host.malloc(RECORDER_CAPACITY * 4);
    if (this.scratch === 0 || this.bufferAddress === 0) return "no memory for its buffers";
    const recorder = newRecorder(memory, () => this.drain());
    recorder.buffer.value = this.bufferAddress;
    recorder.capacity.value = RECORDER_CAPACITY;
    this.recorder = recorder;
    const slot = table.grow(1);
    table.set(slot, recorder.tracker);
    this.fieldAddress = field;
    this.active = true;
    view.setUint32(field, slot, true);
    // The self-test exercises the build, not the instance (same code, same
    // layout, checked above): once per build and process is enough, and it
    // is most of the tracker's start-up cost (~0.25 ms of evals).
    if (verified.has(this.host.variant)) return undefined;
    const why = this.selfTest();
    if (why === undefined) verified.add(this.host.variant);
    return why;
  }

  /** `Promise.reject(12345)`, then `.catch` on it: one record with one reference, then none. */
  private selfTest(): string | undefined {
    const recorder = this.recorder!;
    // Read through functions: the engine changes them behind TypeScript's back.
    const entries = (): number => recorder.count.value;
    const lost = (): boolean => recorder.lost.value !== 0;
    let promise: HeldValue | undefined;
    let attach: HeldValue | undefined;
    try {
      promise = this.host.evalScript("Promise.reject(12345)");
      const at = this.objectAt(promise.value);
      if (at < 0 || entries() !== 1 || lost() || this.int32s()[this.bufferAddress >>> 2]! >>> 0 !== at) {
        return "its self-test did not see the rejection";
      }
      // Held by the script's result and by the record, nothing else.
      if (this.refCount(at) !== 2) return "its self-test found an unexpected reference count";
      attach = this.host.evalScript("(p) => { p.catch(() => {}); }");
      this.host.callOne(attach, promise);
      // The handler cancelled the record inside wasm and gave its reference back.
      if (entries() !== 0 || lost() || this.refCount(at) !== 1) return "its self-test did not see the rejection being handled";
      this.host.runJobs();
      this.drain();
      if (entries() !== 0 || lost() || this.records.size !== 0) return "its self-test saw unexpected events";
      return undefined;
    } finally {
      attach?.dispose();
      promise?.dispose();
    }
  }

  /** The object address in the JSValue stored at `address` (-1 if it is not an object). */
  private objectAt(address: number): number {
    const view = this.words();
    return view.getInt32(address + 4, true) === TAG_OBJECT ? view.getUint32(address, true) : -1;
  }

  /** The reference count of the object at `address` (its first field, `JSRefCountHeader`). */
  private refCount(address: number): number {
    return this.int32s()[address >>> 2]!;
  }

  /**
   * Move the recorder's entries into {@link records}. Also called by the
   * recorder when its buffer is full (from inside the engine: must not throw,
   * and calls nothing in the engine).
   */
  drain(): void {
    const recorder = this.recorder;
    if (!recorder) return;
    try {
      const n = recorder.count.value;
      if (n === 0) return;
      const ints = this.int32s();
      const base = this.bufferAddress >>> 2;
      for (let i = 0; i < n; i++) {
        const entry = ints[base + i]! >>> 0;
        if (entry === 0) continue; // cancelled inside wasm
        const at = entry - (entry & 1);
        if ((entry & 1) === 0) {
          // Each entry holds a reference: a second one for the same promise is one too many.
          if (this.records.has(at)) this.giveBack(at);
          else this.records.add(at);
        } else if (this.records.delete(at)) {
          this.giveBack(at);
        }
      }
      recorder.count.value = 0;
    } catch {
      this.lost = true;
    }
  }

  /**
   * Give back one reference, possibly from inside the engine: when it is not
   * the last, decrement (all `JS_FreeValue` does then); otherwise defer to the
   * next safe point, where the engine frees the promise.
   */
  private giveBack(at: number): void {
    const ints = this.int32s();
    const count = ints[at >>> 2]!;
    if (count > 1) ints[at >>> 2] = count - 1;
    else this.deferred.push(at);
  }

  /** Outside any engine call: give back the deferred references. */
  private settleDeferred(): void {
    while (this.deferred.length > 0) this.unref(this.deferred.pop()!);
  }

  /** Drop the record of `at` and its reference, outside any engine call (it may free the promise). */
  private release(at: number): void {
    if (this.records.delete(at)) this.unref(at);
  }

  /** Give back one reference, outside any engine call. */
  private unref(at: number): void {
    const ints = this.int32s();
    const count = ints[at >>> 2]!;
    if (count > 1) {
      ints[at >>> 2] = count - 1; // exactly JS_FreeValue when it is not the last reference
      return;
    }
    // The last one: the engine frees the promise.
    const cell = this.host.malloc(8);
    if (cell === 0) return; // out of memory: leaked until the runtime goes (never a false report)
    this.words().setBigInt64(cell, BigInt(at - TWO_32), true);
    this.host.freeValueAt(cell);
  }

  /**
   * The host consumed this rejected promise's outcome (rexec read its state for
   * something the host awaits): it is handled, as an awaited promise is in Node.
   * `address` is the address of the promise's JSValue (a handle's `value`).
   */
  markHandled(address: number): void {
    if (!this.active) return;
    this.drain();
    this.settleDeferred();
    if (this.records.size === 0) return;
    const at = this.objectAt(address);
    if (at >= 0) this.release(at);
  }

  /**
   * The promises still unhandled, oldest first, at most `limit` of them,
   * passed to `reasonOf` (which reads each one's reason while it is held);
   * forgets all of them. Nothing when an event was lost since the last take.
   */
  take<R>(limit: number, reasonOf: (promise: HeldValue) => R | undefined): R[] {
    const out: R[] = [];
    if (!this.active) return out;
    this.drain();
    this.settleDeferred();
    const lost = this.lost || this.recorder!.lost.value !== 0;
    this.lost = false;
    this.recorder!.lost.value = 0;
    if (this.records.size === 0) return out;
    const keys = [...this.records];
    try {
      for (const at of keys) {
        if (lost || out.length >= limit) break;
        this.words().setBigInt64(this.scratch, BigInt(at - TWO_32), true);
        const promise = this.host.hold(this.scratch);
        if (!promise) break;
        try {
          const reason = reasonOf(promise);
          if (reason !== undefined) out.push(reason);
        } finally {
          promise.dispose();
        }
      }
    } finally {
      for (const at of keys) this.release(at);
    }
    return out;
  }

  /** Release everything and unset the engine's tracker (the engine is being disposed). */
  shutDown(): void {
    if (this.fieldAddress >= 0) this.words().setUint32(this.fieldAddress, 0, true);
    this.fieldAddress = -1;
    this.drain();
    this.settleDeferred();
    this.active = false;
    for (const at of [...this.records]) this.release(at);
    this.recorder = undefined;
    if (this.scratch !== 0) this.host.free(this.scratch);
    if (this.bufferAddress !== 0) this.host.free(this.bufferAddress);
    this.scratch = 0;
    this.bufferAddress = 0;
  }

  /**
   * The tracker's state for a realm image (engine-image.ts), taken at rest:
   * the engine memory it uses is in the image, the wasm-side recorder is not.
   * Undefined when tracking is off. Records are empty at rest (every call
   * takes them at its end), and pending entries are drained first.
   */
  captureState(): TrackerImageState | undefined {
    if (!this.active || !this.recorder) return undefined;
    this.drain();
    this.settleDeferred();
    if (this.records.size > 0 || this.lost || this.recorder.lost.value !== 0) return undefined;
    const field = this.fieldAddress;
    return { fieldAddress: field, slot: this.words().getUint32(field, true), scratch: this.scratch, bufferAddress: this.bufferAddress };
  }

  /**
   * A tracker for an engine restored from an image whose tracker state was
   * `state`: a new wasm recorder over the instance's memory, put in the
   * instance's table at the slot the image's runtime points to.
   * Inactive (nothing reported) when the slot cannot be set.
   */
  static adopt(host: TrackerHost, state: TrackerImageState | undefined): RejectionTracker {
    const tracker = new RejectionTracker(host);
    const table = host.table;
    if (!state || !table) return tracker;
    if (table.length > state.slot + 1) return tracker;
    while (table.length <= state.slot) table.grow(1);
    // A recycled instance keeps its recorder (a wasm instance of its own): only its owner changes.
    const cache = host.recorderCache;
    let recorder = cache?.recorder;
    if (!recorder) {
      recorder = newRecorder(host.memory, () => (cache ? cache.owner?.drain() : tracker.drain()));
      if (cache) cache.recorder = recorder;
    }
    if (cache) cache.owner = tracker;
    recorder.count.value = 0;
    recorder.lost.value = 0;
    recorder.buffer.value = state.bufferAddress;
    recorder.capacity.value = RECORDER_CAPACITY;
    table.set(state.slot, recorder.tracker);
    tracker.recorder = recorder;
    tracker.scratch = state.scratch;
    tracker.bufferAddress = state.bufferAddress;
    tracker.fieldAddress = state.fieldAddress;
    tracker.active = true;
    return tracker;
  }

  /** Forget everything without touching engine memory (the instance is being dropped). */
  abandon(): void {
    this.active = false;
    this.records.clear();
    this.deferred.length = 0;
    this.recorder = undefined;
    this.fieldAddress = -1;
    this.scratch = 0;
    this.bufferAddress = 0;
  }
}

