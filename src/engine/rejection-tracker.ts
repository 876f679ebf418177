/**
 * Unhandled guest promise rejections, observed through QuickJS's own host
 * promise-rejection tracker, without rebuilding the engine.
 *
 * Invariant protected: a guest promise rejected with no handler when a call
 * ends fails that call (as Node fails a script), and **never a false
 * positive**: a rejection is reported only if the engine itself said it was
 * unhandled and never said it was handled afterwards, and rexec did not read
 * it as the outcome of something the host awaits.
 *
 * QuickJS calls `rt->host_promise_rejection_tracker(ctx, promise, reason,
 * is_handled, opaque)` when a promise is rejected with no handler
 * (`is_handled` 0) and when a handler is attached to such a promise later
 * (`is_handled` 1), in both builds. The pinned builds do not export
 * `JS_SetHostPromiseRejectionTracker` nor their function table, so:
 *
 * 1. the wasm binary is patched once per process to export its (growable)
 *    function table ({@link exportFunctionTable});
 * 2. a tiny wasm module turns a host callback into a wasm function of the
 *    tracker's signature `(i32 ctx, i64 promise, i64 reason, i32 handled,
 *    i32 opaque)` (JSValues are NaN-boxed 64-bit integers in wasm32 builds);
 * 3. the table grows by one slot holding that function;
 * 4. the slot's index is written into the runtime's tracker field, whose
 *    offset in `struct JSRuntime` was measured per build (see
 *    {@link TRACKER_OFFSETS}).
 *
 * Step 4 writes into engine memory at a measured offset, so before any guest
 * code runs, the neighbourhood is checked (the field and its opaque are null,
 * the job list that follows is an empty list pointing at itself) on every
 * instance, and on the first instance of each build in the process a
 * self-test must see exactly the events QuickJS sends for
 * `Promise.reject(12345)` followed by `.catch`, and the reference count the
 * tracker keeps. On any mismatch the field is
 * restored to null and tracking stays off for this build in this process
 * (logged once): the run then behaves as before (rejections ignored), it never
 * reports one that did not happen.
 *
 * Each recorded promise holds one reference (its count incremented in place,
 * as `JS_DupValue` does; the self-test checks the count) until it is handled,
 * taken, or the engine goes, so its address cannot be reused by another
 * promise while it is a key here.
 *
 * @packageDocumentation
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from "quickjs-emscripten-core";
import type { EngineVariantName } from "./wasm-variant.js";

/** The name under which the patched binary exports its function table. */
export const TABLE_EXPORT = "rexec_function_table";

/**
 * Byte offset of `host_promise_rejection_tracker` in `struct JSRuntime`, wasm32
 * builds of quickjs-emscripten 0.32.0. Measured by diffing the runtime around
 * `setInterruptHandler` (interrupt_handler at 160 in QuickJS-ng 0.12.1, 152 in
 * classic 2025-09-13) and reading quickjs.c: QuickJS-ng has the promise hook
 * pair and `parent_promise` in between (+20), classic only `interrupt_opaque` (+8).
 */
const TRACKER_OFFSETS: Readonly<Record<EngineVariantName, number>> = { "quickjs-ng": 180, quickjs: 160 };

/** The rejection reason of the self-test: a small int, NaN-boxed as tag 0 with this payload. */
const PROBE_REASON = 12345;

/** `JS_TAG_OBJECT` in both builds: a NaN-boxed object is `(-1 << 32) | address`. */
const TAG_OBJECT = -1;
const TWO_32 = 4294967296;
const TWO_32_N = 4294967296n;

/** The object address in a NaN-boxed JSValue; throws if it is not an object (never for a promise). */
function objectAddress(value: bigint): number {
  if (value < -TWO_32_N || value >= 0n) throw new Error("a promise that is not an object");
  return Number(value) + TWO_32;
}

/** The NaN-boxed JSValue of the object at `address`. */
function boxed(address: number): bigint {
  return BigInt(address - TWO_32);
}

// --- Local WebAssembly types (src/types/webassembly.d.ts declares only what others use) ---
/** A wasm function table (`WebAssembly.Table`). */
export interface WasmTable {
  readonly length: number;
  grow(delta: number): number;
  set(index: number, value: unknown): void;
  get(index: number): unknown;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
const Instance = (WebAssembly as unknown as { Instance: new (module: WebAssembly.Module, imports: Record<string, Record<string, unknown>>) => WasmInstance }).Instance;

// --- 1. Exporting the function table -------------------------------------------------------

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= bytes.length || shift > 28) throw new Error("bad LEB128");
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, at];
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

interface Section {
  readonly id: number;
  readonly headerStart: number;
  readonly start: number;
  readonly end: number;
}

function sections(bytes: Uint8Array): Section[] {
  const out: Section[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, start] = readLeb(bytes, at + 1);
    out.push({ id, headerStart: at, start, end: start + size });
    at = start + size;
  }
  if (at !== bytes.length) throw new Error("truncated section");
  return out;
}

/** Does the import section import a table? (Then table 0 would not be the module's own.) */
function importsTable(bytes: Uint8Array, section: Section): boolean {
  let [count, at] = readLeb(bytes, section.start);
  const skipName = (): void => {
    const [length, next] = readLeb(bytes, at);
    at = next + length;
  };
  const skipLimits = (): void => {
    const flags = bytes[at++]!;
    [, at] = readLeb(bytes, at);
    if (flags & 1) [, at] = readLeb(bytes, at);
  };
  while (count-- > 0) {
    skipName();
    skipName();
    const kind = bytes[at++]!;
    if (kind === 0x00) [, at] = readLeb(bytes, at); // function: type index
    else if (kind === 0x01) return true;
    else if (kind === 0x02) skipLimits(); // memory
    else if (kind === 0x03) at += 2; // global: value type, mutability
    else if (kind === 0x04) [, at] = readLeb(bytes, at + 1); // tag: attribute, type index
    else throw new Error(`unknown import kind ${kind}`);
  }
  return false;
}

/**
 * `bytes` with one more export: the module's only function table, as
 * {@link TABLE_EXPORT}. Undefined when the module is not of the expected shape
 * (no own funcref table, an imported table, several tables, no export section,
 * the name taken): then tracking is simply unavailable.
 */
export function exportFunctionTable(bytes: Uint8Array): Uint8Array | undefined {
  try {
    const all = sections(bytes);
    const imports = all.find((s) => s.id === 2);
    if (imports && importsTable(bytes, imports)) return undefined;
    const tables = all.find((s) => s.id === 4);
    if (!tables) return undefined;
    const [tableCount, firstTable] = readLeb(bytes, tables.start);
    if (tableCount !== 1 || bytes[firstTable] !== 0x70) return undefined;
    const exports = all.find((s) => s.id === 7);
    if (!exports) return undefined;
    const name = new TextEncoder().encode(TABLE_EXPORT);
    if (Buffer.from(bytes.subarray(exports.start, exports.end)).includes(Buffer.from(name))) return undefined;
    const [exportCount, entries] = readLeb(bytes, exports.start);
    const body = [...leb(exportCount + 1), ...bytes.subarray(entries, exports.end), ...leb(name.length), ...name, 0x01, 0x00];
    const out = new Uint8Array(bytes.length - (exports.end - exports.headerStart) + 1 + leb(body.length).length + body.length);
    out.set(bytes.subarray(0, exports.headerStart), 0);
    let at = exports.headerStart;
    for (const byte of [7, ...leb(body.length), ...body]) out[at++] = byte;
    out.set(bytes.subarray(exports.end), at);
    return out;
  } catch {
    return undefined;
  }
}

// --- 2. A host callback as a wasm function of the tracker's type ---------------------------

/**
 * `(module (type (func (param i32 i64 i64 i32 i32)))
 *   (import "h" "t" (func (type 0)))
 *   (func (export "f") (type 0) local.get 0 … local.get 4 call 0))`
 */
const THUNK_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x09, 0x01, 0x60, 0x05, 0x7f, 0x7e, 0x7e, 0x7f, 0x7f, 0x00,
  0x02, 0x07, 0x01, 0x01, 0x68, 0x01, 0x74, 0x00, 0x00,
  0x03, 0x02, 0x01, 0x00,
  0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x01,
  0x0a, 0x10, 0x01, 0x0e, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0x20, 0x03, 0x20, 0x04, 0x10, 0x00, 0x0b,
]);
let thunkModule: WebAssembly.Module | undefined;

type TrackerCallback = (ctx: number, promise: bigint, reason: bigint, handled: number, opaque: number) => void;

function trackerFunction(callback: TrackerCallback): unknown {
  thunkModule ??= new WebAssembly.Module(THUNK_BYTES);
  return new Instance(thunkModule, { h: { t: callback } }).exports["f"];
}

// --- 3 and 4. The tracker -----------------------------------------------------------------

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
  /** The instance's function table (exported by {@link exportFunctionTable}), if any. */
  readonly table: WasmTable | undefined;
  readonly runtimePointer: number;
  readonly contextPointer: number;
  readonly variant: EngineVariantName;
  /** Dup the JSValue stored at `address` into a new held handle; undefined when that failed (out of memory). */
  hold(address: number): HeldValue | undefined;
  /** `JS_FreeValue` the JSValue stored at `address`, then free `address` (which came from {@link TrackerHost.malloc}). */
  freeValueAt(address: number): void;
  /** Allocate / free engine heap bytes. */
  malloc(bytes: number): number;
  free(address: number): void;
  /** Evaluate a script; returns a held handle of its value (throws if it threw). */
  evalScript(code: string): HeldValue;
  /** Call `fn` with one argument; disposes the result (throws if it threw). */
  callOne(fn: HeldValue, arg: HeldValue): void;
  /** Run queued promise jobs. */
  runJobs(): void;
  log(line: string): void;
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
  /**
   * Unhandled rejected promises by their NaN-boxed JSValue, in rejection order.
   * Each holds one reference to its promise, taken by incrementing its
   * reference count in place (exactly `JS_DupValue`; verified by the
   * self-test): a call into the engine per rejection would cost more than the
   * rejection itself.
   */
  private readonly records = new Set<number>();
  private buffer: ArrayBuffer | undefined;
  private view: DataView | undefined;
  private ints: Int32Array | undefined;
  private active = false;
  private fieldAddress = -1;
  private scratch = 0;
  /** Events seen by the self-test. */
  private probeEvents: Array<{ ctx: number; promise: bigint; reason: bigint; handled: number }> | undefined;

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
        // The engine trapped (e.g. a signature mismatch) or overflowed inside the
        // self-test: its state is unknown, so nothing more is called on it.
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

  private words(): DataView {
    this.refresh();
    return this.view!;
  }

  /** Views of the current buffer (growing the memory detaches the old one). */
  private refresh(): void {
    const buffer = this.host.memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.view = new DataView(buffer);
      this.ints = new Int32Array(buffer);
    }
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
    const slot = table.grow(1);
    table.set(slot, trackerFunction((ctx, promise, reason, handled) => this.onEvent(ctx, promise, reason, handled)));
    this.scratch = this.host.malloc(8);
    if (this.scratch === 0) return "no memory for its scratch value";
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

  /** `Promise.reject(12345)`, then `.catch` on it: exactly one unhandled and one handled event. */
  private selfTest(): string | undefined {
    const events: NonNullable<typeof this.probeEvents> = [];
    this.probeEvents = events;
    // Read through a function: the engine appends to `events` behind TypeScript's back.
    const seen = (): number => events.length;
    const size = (): number => this.records.size;
    let promise: HeldValue | undefined;
    let attach: HeldValue | undefined;
    try {
      promise = this.host.evalScript(`Promise.reject(${PROBE_REASON})`);
      const key = this.objectAt(promise.value);
      const first = events[0];
      if (seen() !== 1 || !first || first.handled !== 0 || first.promise !== boxed(key) || first.reason !== BigInt(PROBE_REASON) || first.ctx !== this.host.contextPointer) {
        return "its self-test did not see the expected rejection";
      }
      if (size() !== 1 || !this.records.has(key)) return "its self-test did not record the rejection";
      // Held by the script's result and by the record, nothing else: the count is where it was measured.
      if (this.refCount(key) !== 2) return "its self-test found an unexpected reference count";
      attach = this.host.evalScript("(p) => { p.catch(() => {}); }");
      this.host.callOne(attach, promise);
      const second = events[1];
      if (seen() !== 2 || !second || second.handled !== 1 || second.promise !== boxed(key) || size() !== 0) {
        return "its self-test did not see the rejection being handled";
      }
      this.host.runJobs();
      if (seen() !== 2) return "its self-test saw unexpected events";
      return undefined;
    } finally {
      this.probeEvents = undefined;
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
    this.refresh();
    return this.ints![address >>> 2]!;
  }

  private setRefCount(address: number, count: number): void {
    this.ints![address >>> 2] = count;
  }

  /** The tracker itself, called by QuickJS from inside wasm: must never throw. */
  private onEvent(ctx: number, promise: bigint, reason: bigint, handled: number): void {
    if (!this.active) return;
    try {
      this.probeEvents?.push({ ctx, promise, reason, handled });
      const at = objectAddress(promise);
      if (handled === 0) {
        if (this.records.has(at)) return;
        this.setRefCount(at, this.refCount(at) + 1);
        this.records.add(at);
      } else {
        this.release(at);
      }
    } catch (error) {
      // A host exception must not unwind through the engine's C frames.
      this.active = false;
      this.host.log(`unhandled-rejection tracking stopped: ${(error as Error)?.message}`);
    }
  }

  /** Drop the record of `key` and its reference. */
  private release(at: number): void {
    if (!this.records.delete(at)) return;
    const count = this.refCount(at);
    if (count > 1) {
      // Not the last reference (always so inside the callback: whoever attaches
      // the handler holds the promise): `JS_FreeValue` only decrements.
      this.setRefCount(at, count - 1);
      return;
    }
    // The last one: the engine frees the promise.
    const cell = this.host.malloc(8);
    if (cell === 0) return; // out of memory: leaked until the runtime goes (never a false report)
    this.words().setBigInt64(cell, boxed(at), true);
    this.host.freeValueAt(cell);
  }

  /**
   * The host consumed this rejected promise's outcome (rexec read its state for
   * something the host awaits): it is handled, as an awaited promise is in Node.
   * `address` is the address of the promise's JSValue (a handle's `value`).
   */
  markHandled(address: number): void {
    if (this.records.size === 0) return;
    const at = this.objectAt(address);
    if (at >= 0) this.release(at);
  }

  /**
   * The promises still unhandled, oldest first, at most `limit` of them,
   * passed to `reasonOf` (which reads each one's reason while it is held);
   * forgets all of them.
   */
  take<R>(limit: number, reasonOf: (promise: HeldValue) => R | undefined): R[] {
    const out: R[] = [];
    if (this.records.size === 0) return out;
    const keys = [...this.records];
    try {
      for (const key of keys) {
        if (out.length >= limit) break;
        this.words().setBigInt64(this.scratch, boxed(key), true);
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
      for (const key of keys) this.release(key);
    }
    return out;
  }

  /** Release everything and unset the engine's tracker (the engine is being disposed). */
  shutDown(): void {
    this.active = false;
    for (const key of [...this.records]) this.release(key);
    if (this.fieldAddress >= 0) this.words().setUint32(this.fieldAddress, 0, true);
    this.fieldAddress = -1;
    if (this.scratch !== 0) this.host.free(this.scratch);
    this.scratch = 0;
  }

  /** Forget everything without touching engine memory (the instance is being dropped). */
  abandon(): void {
    this.active = false;
    this.records.clear();
    this.fieldAddress = -1;
    this.scratch = 0;
  }
}

// --- Binding to quickjs-emscripten ------------------------------------------------------------

/** The quickjs-emscripten internals the tracker needs (present in 0.32; checked before use). */
interface BindingInternals {
  readonly ffi?: { QTS_DupValuePointer?: (ctx: number, address: number) => number; QTS_FreeValuePointer?: (ctx: number, address: number) => void };
  readonly module?: { _malloc?: (bytes: number) => number; _free?: (address: number) => void };
}

/**
 * Install a tracker on a fresh quickjs-emscripten runtime and context of one
 * wasm instance whose exports are `wasmExports`. Throws only
 * {@link TrackerBrokeEngine}; any other failure leaves tracking off.
 */
export function installRejectionTracker(args: {
  readonly memory: WebAssembly.Memory;
  readonly wasmExports: Record<string, unknown> | undefined;
  readonly runtime: QuickJSRuntime;
  readonly context: QuickJSContext;
  readonly variant: EngineVariantName;
  readonly log: (line: string) => void;
}): RejectionTracker {
  const { memory, runtime, context, variant, log } = args;
  const runtimePointer = (runtime as unknown as { rt: { value: number } }).rt.value;
  const contextPointer = (context as unknown as { ctx: { value: number } }).ctx.value;
  const internals = context as unknown as BindingInternals;
  const dup = internals.ffi?.QTS_DupValuePointer;
  const freeValue = internals.ffi?.QTS_FreeValuePointer;
  const malloc = internals.module?._malloc;
  const free = internals.module?._free;
  const table = args.wasmExports?.[TABLE_EXPORT] as WasmTable | undefined;
  const usable = typeof dup === "function" && typeof freeValue === "function" && typeof malloc === "function" && typeof free === "function" && typeof table?.grow === "function";
  const contextMemory = context.getMemory(runtimePointer as never);
  const asHandle = (value: HeldValue): QuickJSHandle => value as unknown as QuickJSHandle;
  return RejectionTracker.install({
    memory,
    table: usable ? table : undefined,
    runtimePointer,
    contextPointer,
    variant,
    hold: (address) => {
      const pointer = dup!(contextPointer, address);
      return pointer === 0 ? undefined : contextMemory.heapValueHandle(pointer as never);
    },
    freeValueAt: (address) => freeValue!(contextPointer, address),
    malloc: (bytes) => malloc!(bytes),
    free: (address) => free!(address),
    evalScript: (code) => context.unwrapResult(context.evalCode(code, "<rexec:rejection-probe>", { type: "global" })),
    callOne: (fn, arg) => context.unwrapResult(context.callFunction(asHandle(fn), context.undefined, asHandle(arg))).dispose(),
    runJobs: () => context.unwrapResult(runtime.executePendingJobs()),
    log,
  });
}
