/**
 * The {@link Engine} on QuickJS compiled to WebAssembly, driven through the
 * build's raw ffi (raw/raw-ffi.ts): a guest ref is the address of a heap
 * `JSValue`, with no handle object per value.
 *
 * Threats this file closes (see ENGINE-FACTS in the design notes):
 *
 * - `setMemoryLimit` only bounds single allocations, not the total. So every
 *   sandbox runs in **its own wasm instance with its own `WebAssembly.Memory`**,
 *   whose `maximum` the wasm engine enforces (raw/engine-instance.ts).
 * - Wasm recursion runs on the host thread's native stack. When it overflows,
 *   V8 throws a host `RangeError` through the wasm frames and the QuickJS
 *   runtime is left corrupt. Every entry into the engine is guarded: such a
 *   fault drops the whole instance without freeing anything in it, marks it
 *   broken (it is never recycled) and the engine dead ({@link EngineFault}).
 * - A host callback never lets a host exception reach the guest: it answers
 *   with a plain guest error of a fixed message, and the fault is raised on
 *   the host once control is back.
 * - A ref is owned exactly once: freeing an unknown or freed ref throws
 *   instead of freeing engine memory twice; arguments borrowed by a host
 *   callback are never freed by it.
 * - The engine polls its interrupt handler only every ~10000 polls: an
 *   {@link InterruptPacer} paces the polls by time ({@link Engine.pollSoon}).
 *
 * An engine either starts fresh (a new runtime and context) or from a realm
 * image (engine-image.ts) in a recycled or new instance; its host functions
 * created under a slot name can then be bound to the new tenant's callbacks.
 *
 * @packageDocumentation
 */
import {
  EngineFault,
  GuestThrow,
  type Engine,
  type EngineModuleLoader,
  type EngineOptions,
  type GuestRef,
  type HostCallback,
  type PromiseState,
} from "./engine.js";
import { InterruptPacer } from "./interrupt-pacer.js";
import { WASM_PAGE_BYTES, type EngineVariantName } from "./wasm-variant.js";
import type { RejectionTracker } from "./rejection-tracker.js";
import type { EngineInstance, InstanceTenant } from "./raw/engine-instance.js";
import { EVAL_GLOBAL, EVAL_MODULE, heapString, PROMISE_FULFILLED, PROMISE_PENDING, rawFFI, takeCString, type RawFFI } from "./raw/raw-ffi.js";
import { instancePoolStats } from "./instance-pool.js";
import { captureEngineImage, knownImageFacts, pinnedFacts, type EngineImage, type EngineState } from "./engine-image.js";

/** Options of {@link createQuickJSEngine} beyond the generic {@link EngineOptions}. */
export interface QuickJSEngineOptions extends EngineOptions {
  /** The QuickJS build; defaults to {@link ENGINE_VARIANT}. */
  readonly variant?: EngineVariantName;
  /** Where the engine's own diagnostics (emscripten's printErr) go. */
  readonly log?: (line: string) => void;
  /** Warm the engine up first, once per thread (warm-up.ts). Default true; false for the warm-up's own engine. */
  readonly warmUp?: boolean;
}

function isNativeStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/** The raw-ffi engine (see the file's invariants). */
export class QuickJSEngine implements Engine, InstanceTenant {
  private instance: EngineInstance | undefined;
  private readonly ffi: RawFFI;
  /** Refs this engine owns (addresses of heap JSValues). */
  private readonly owned = new Set<number>();
  /** Arguments of the running host callbacks: readable, never freed by us. */
  private readonly borrowed = new Set<number>();
  private readonly hostFunctions = new Map<number, HostCallback>();
  /** Host functions created under a slot name (rebindable in images). */
  private readonly slots = new Map<string, number>();
  private nextHostId = 1;
  /** A fault seen inside a host callback, raised once control is back on the host. */
  private pendingFault: EngineFault | undefined;
  private loader: EngineModuleLoader | undefined;
  private pacer: InterruptPacer | undefined;
  tracker: RejectionTracker | undefined;
  /** Scratch words in engine memory for out-parameters (allocated on first use). */
  private scratch = 0;
  readonly heapLimitBytes: number;
  private readonly refusedAtStart: number;

  constructor(
    instance: EngineInstance,
    readonly rt: number,
    readonly ctx: number,
    private readonly options: QuickJSEngineOptions,
    private readonly log: (line: string) => void,
  ) {
    this.instance = instance;
    this.ffi = rawFFI(instance);
    this.heapLimitBytes = instance.maximumPages * WASM_PAGE_BYTES;
    this.refusedAtStart = instance.growth.failures;
    // Per tenant, never from an image: the limits of this sandbox.
    this.ffi.QTS_RuntimeSetMemoryLimit(rt, options.memoryBytes);
    this.ffi.QTS_RuntimeSetMaxStackSize(rt, options.stackBytes);
    instance.largestStackBytes = Math.max(instance.largestStackBytes, options.stackBytes);
  }

  /** Verify the poll pacing (a fresh runtime first gets its interrupt handler enabled). */
  startPolling(freshRuntime: boolean): void {
    const instance = this.instance!;
    if (freshRuntime) this.ffi.QTS_RuntimeEnableInterruptHandler(this.rt);
    const pacer = new InterruptPacer(instance.memory, this.ctx, instance.variant);
    this.pacer = pacer;
    const verified = this.verifyPacer(pacer, pinnedFacts(instance.variant) !== undefined ? "pinned" : "process");
    if (!verified) this.log(`interrupt pacing unavailable for ${instance.variant}: native-heavy loops are polled at the engine's own rate`);
  }

  private verifyPacer(pacer: InterruptPacer, trust: "pinned" | "process" | "none"): boolean {
    try {
      return pacer.verify(
        (handler) => (this.interruptProbe = handler),
        (iterations) => this.free(this.evalScript(`for (let i = 0; i < ${iterations}; i++) {}`, "<rexec:pacer-probe>")),
        trust,
      );
    } finally {
      this.interruptProbe = undefined;
    }
  }

  /**
   * @internal For the test of the pinned builds: observe this build's
   * interrupt-counter layout now, trusting nothing (a throwaway pacer; this
   * engine's own pacing is untouched).
   */
  observePacingLayout(): boolean {
    const instance = this.instance!;
    return this.verifyPacer(new InterruptPacer(instance.memory, this.ctx, instance.variant), "none");
  }

  /** The pacer's probe handler while it verifies (see {@link startPolling}). */
  private interruptProbe: (() => boolean) | undefined;

  /** Take over the state of a restored image: its refs and host-function slots. */
  adopt(state: EngineState, bindings: ReadonlyMap<string, HostCallback>): void {
    for (const ref of state.owned) this.owned.add(ref);
    for (const [slot, id] of state.slots) {
      const impl = bindings.get(slot);
      if (!impl) throw new Error(`rexec internal error: no binding for the image's host function "${slot}"`);
      this.hostFunctions.set(id, impl);
      this.slots.set(slot, id);
    }
    this.nextHostId = state.nextHostId;
  }

  /** The instance (for deriving image facts on a throwaway engine). */
  instanceForImage(): EngineInstance | undefined {
    return this.instance;
  }

  /** This engine's state at rest as an image (engine-image.ts); undefined when it cannot be captured. */
  captureImage(): EngineImage | undefined {
    const instance = this.instance;
    if (!instance || !this.alive || this.borrowed.size > 0 || this.hostFunctions.size !== this.slots.size) return undefined;
    // Derived beforehand on a throwaway engine (see deriveImageFacts): the derivation allocates.
    const facts = knownImageFacts(instance.variant);
    const state: EngineState = { rt: this.rt, ctx: this.ctx, owned: [...this.owned], slots: new Map(this.slots), nextHostId: this.nextHostId };
    return captureEngineImage(instance, state, this.tracker?.captureState(), facts);
  }

  get alive(): boolean {
    return this.instance !== undefined && !this.instance.broken;
  }

  get heapBytes(): number {
    return this.instance?.bytes ?? 0;
  }

  get refusedHeapGrowths(): number {
    return (this.instance?.growth.failures ?? this.refusedAtStart) - this.refusedAtStart;
  }

  /** The live instance (throws when disposed or faulted). */
  private live(): EngineInstance {
    const instance = this.instance;
    if (!instance || instance.broken) throw new EngineFault("disposed", "the engine has been disposed");
    return instance;
  }

  /** Drop the whole instance without freeing anything in it: it may be corrupt. */
  private abandon(faulted: boolean): void {
    this.pacer?.disable();
    this.tracker?.abandon();
    if (this.instance) {
      if (faulted && !this.instance.broken) instancePoolStats.faulted++;
      this.instance.broken = true;
      this.instance.tenant = undefined;
    }
    this.instance = undefined;
    this.owned.clear();
    this.borrowed.clear();
    this.hostFunctions.clear();
    this.loader = undefined;
  }

  /** Run `fn` against the engine; turn host-visible engine failures into EngineFault. */
  private guard<T>(fn: (ffi: RawFFI) => T): T {
    this.live();
    let result: T;
    try {
      result = fn(this.ffi);
    } catch (error) {
      if (isNativeStackOverflow(error)) {
        this.abandon(true);
        throw new EngineFault("stack", "the engine overflowed the native stack", { cause: error });
      }
      if (error instanceof WebAssembly.RuntimeError) {
        this.abandon(true);
        throw new EngineFault("trap", `the engine trapped: ${error.message}`, { cause: error });
      }
      this.raisePendingFault();
      throw error;
    }
    this.raisePendingFault();
    return result;
  }

  private raisePendingFault(): void {
    const fault = this.pendingFault;
    if (fault) {
      this.pendingFault = undefined;
      this.abandon(true);
      throw fault;
    }
  }

  /** Take ownership of a JSValue the engine returned (0 means it ran out of memory). */
  private own(address: number): GuestRef {
    if (address === 0) {
      this.abandon(true);
      throw new EngineFault("memory", "the engine could not allocate a value");
    }
    this.owned.add(address);
    return address as GuestRef;
  }

  /** A ref this engine can read (owned or borrowed). */
  private get(ref: GuestRef): number {
    if (!this.owned.has(ref) && !this.borrowed.has(ref)) throw new Error(`rexec internal error: unknown or freed guest ref ${ref}`);
    return ref;
  }

  /** A result or a thrown exception: own the value, or throw it as GuestThrow. */
  private unwrap(result: number): GuestRef {
    const error = this.ffi.QTS_ResolveException(this.ctx, result);
    if (error !== 0) {
      this.ffi.QTS_FreeValuePointer(this.ctx, result);
      throw new GuestThrow(this.own(error));
    }
    return this.own(result);
  }

  /** A word of scratch engine memory for out-parameters (two words: 8 bytes). */
  private scratchWords(): number {
    if (this.scratch === 0) {
      this.scratch = this.live().em._malloc(8);
      if (this.scratch === 0) throw new EngineFault("memory", "the engine could not allocate");
    }
    return this.scratch;
  }

  private u32(address: number): number {
    return new Uint32Array(this.live().memory.buffer, address, 1)[0]!;
  }

  private evaluate(code: string, fileName: string, type: number): GuestRef {
    return this.guard((ffi) => {
      const instance = this.live();
      const [address, length] = heapString(instance, code);
      try {
        return this.unwrap(ffi.QTS_Eval(this.ctx, address, length, fileName, 0, type));
      } finally {
        instance.em._free(address);
      }
    });
  }

  evalScript(code: string, fileName: string): GuestRef {
    return this.evaluate(code, fileName, EVAL_GLOBAL);
  }

  evalModule(code: string, fileName: string): GuestRef {
    return this.evaluate(code, fileName, EVAL_MODULE);
  }

  call(fn: GuestRef, thisArg: GuestRef | null, args: readonly GuestRef[]): GuestRef {
    return this.guard((ffi) => {
      const em = this.live().em;
      const self = thisArg === null ? ffi.QTS_GetUndefined() : this.get(thisArg);
      const fnAddress = this.get(fn);
      if (args.length === 0) return this.unwrap(ffi.QTS_Call(this.ctx, fnAddress, self, 0, 0));
      const argv = em._malloc(args.length * 4);
      if (argv === 0) throw this.outOfMemory();
      try {
        const words = new Uint32Array(this.live().memory.buffer, argv, args.length);
        for (let i = 0; i < args.length; i++) words[i] = this.get(args[i]!);
        return this.unwrap(ffi.QTS_Call(this.ctx, fnAddress, self, args.length, argv));
      } finally {
        em._free(argv);
      }
    });
  }

  private outOfMemory(): EngineFault {
    this.abandon(true);
    return new EngineFault("memory", "the engine could not allocate");
  }

  newFunction(name: string, impl: HostCallback, slot?: string): GuestRef {
    return this.guard((ffi) => {
      const id = this.nextHostId++;
      this.hostFunctions.set(id, impl);
      if (slot !== undefined) this.slots.set(slot, id);
      return this.own(ffi.QTS_NewFunction(this.ctx, name, 0, false, id));
    });
  }

  // --- The C side's callbacks (InstanceTenant) ---------------------------------------

  callFunction(_ctx: number, _thisPtr: number, argc: number, argv: number, id: number): number {
    const ffi = this.ffi;
    const impl = this.hostFunctions.get(id);
    if (!impl || !this.instance) return this.throwPlain("InternalError", "host function is gone");
    const args: GuestRef[] = [];
    for (let i = 0; i < argc; i++) {
      const address = ffi.QTS_ArgvGetJSValueConstPointer(argv, i);
      // An address that is also an owned ref stays owned; only new ones are borrowed.
      if (!this.owned.has(address)) this.borrowed.add(address);
      args.push(address as GuestRef);
    }
    try {
      const result = impl(args);
      if (result === undefined) return 0;
      if (this.owned.delete(result)) return result; // the engine takes it over
      if (this.borrowed.has(result)) return ffi.QTS_DupValuePointer(this.ctx, result);
      throw new Error("a host callback returned an unknown ref");
    } catch (error) {
      if (error instanceof GuestThrow && this.owned.has(error.value)) {
        const thrown = ffi.QTS_Throw(this.ctx, error.value);
        this.owned.delete(error.value);
        ffi.QTS_FreeValuePointer(this.ctx, error.value);
        return thrown;
      }
      if (isNativeStackOverflow(error)) {
        this.pendingFault = new EngineFault("stack", "the native stack overflowed inside a host callback", { cause: error });
      } else if (error instanceof EngineFault) {
        this.pendingFault = error;
      } else {
        this.pendingFault = new EngineFault("trap", `rexec internal error in a host callback: ${(error as Error)?.message}`, { cause: error });
      }
      // A plain guest error with a fixed message: never the host error itself.
      return this.throwPlain("InternalError", "host callback failed");
    } finally {
      for (const address of args) this.borrowed.delete(address);
    }
  }

  /** Throw a new plain guest error (name, message only) from inside a callback; returns the exception marker. */
  private throwPlain(name: string, message: string): number {
    // No instance (dropped after a fault): nothing may be written; the C side gets "no value".
    if (!this.instance) return 0;
    const ffi = this.ffi;
    const error = ffi.QTS_NewError(this.ctx);
    if (error === 0) return 0;
    this.setPropRaw(error, "name", name);
    this.setPropRaw(error, "message", message);
    const thrown = ffi.QTS_Throw(this.ctx, error);
    ffi.QTS_FreeValuePointer(this.ctx, error);
    return thrown;
  }

  private setPropRaw(object: number, key: string, text: string): void {
    const instance = this.instance!;
    const [k] = heapString(instance, key);
    const [v] = heapString(instance, text);
    try {
      const keyValue = this.ffi.QTS_NewString(this.ctx, k);
      const value = this.ffi.QTS_NewString(this.ctx, v);
      this.ffi.QTS_SetProp(this.ctx, object, keyValue, value);
      this.ffi.QTS_FreeValuePointer(this.ctx, keyValue);
      this.ffi.QTS_FreeValuePointer(this.ctx, value);
    } finally {
      instance.em._free(k);
      instance.em._free(v);
    }
  }

  shouldInterrupt(): boolean {
    try {
      if (this.interruptProbe) return this.interruptProbe();
      if (this.options.shouldInterrupt()) return true;
      this.pacer?.afterPoll();
      return false;
    } catch {
      return true;
    }
  }

  loadModuleSource(_rt: number, _ctx: number, name: string): number {
    return this.answerModule(() => this.loader!.load(name), "module could not be loaded");
  }

  normalizeModule(_rt: number, _ctx: number, base: string, name: string): number {
    return this.answerModule(() => this.loader!.normalize(base, name), "module could not be resolved");
  }

  /** A C string for the engine's module loader (it frees it), or 0 after throwing a plain error. */
  private answerModule(answer: () => string, fallback: string): number {
    try {
      if (!this.loader) throw "modules are not available";
      return heapString(this.instance!, answer())[0];
    } catch (error) {
      this.throwPlain("Error", typeof error === "string" ? error : fallback);
      return 0;
    }
  }

  freeHostRef(_rt: number, id: number): void {
    this.hostFunctions.delete(id);
  }

  // --- Values ----------------------------------------------------------------------

  newString(value: string): GuestRef {
    return this.guard((ffi) => {
      const instance = this.live();
      const [address] = heapString(instance, value);
      try {
        return this.own(ffi.QTS_NewString(this.ctx, address));
      } finally {
        instance.em._free(address);
      }
    });
  }

  newNumber(value: number): GuestRef {
    return this.guard((ffi) => this.own(ffi.QTS_NewFloat64(this.ctx, value)));
  }

  newArrayBuffer(bytes: Uint8Array): GuestRef {
    return this.guard((ffi) => {
      const instance = this.live();
      const address = instance.em._malloc(Math.max(1, bytes.byteLength));
      if (address === 0) throw this.outOfMemory();
      new Uint8Array(instance.memory.buffer, address, bytes.byteLength).set(bytes);
      // The engine takes the buffer over (it frees it with the ArrayBuffer).
      return this.own(ffi.QTS_NewArrayBuffer(this.ctx, address, bytes.byteLength));
    });
  }

  undefinedRef(): GuestRef {
    return this.guard((ffi) => this.own(ffi.QTS_DupValuePointer(this.ctx, ffi.QTS_GetUndefined())));
  }

  globalRef(): GuestRef {
    return this.guard((ffi) => this.own(ffi.QTS_GetGlobalObject(this.ctx)));
  }

  typeOf(ref: GuestRef): string {
    return this.guard((ffi) => takeCString(this.live(), ffi.QTS_Typeof(this.ctx, this.get(ref)), (a) => this.live().em._free(a)));
  }

  getString(ref: GuestRef): string {
    return this.guard((ffi) => takeCString(this.live(), ffi.QTS_GetString(this.ctx, this.get(ref)), (a) => ffi.QTS_FreeCString(this.ctx, a)));
  }

  getNumber(ref: GuestRef): number {
    return this.guard((ffi) => ffi.QTS_GetFloat64(this.ctx, this.get(ref)));
  }

  getArrayBuffer(ref: GuestRef): Uint8Array {
    return this.guard((ffi) => {
      const address = this.get(ref);
      const length = ffi.QTS_GetArrayBufferLength(this.ctx, address);
      const data = ffi.QTS_GetArrayBuffer(this.ctx, address);
      if (data === 0) throw new Error("not an ArrayBuffer, or no memory to copy it");
      try {
        return new Uint8Array(this.live().memory.buffer, data, length).slice(); // copied out before it is freed
      } finally {
        this.live().em._free(data);
      }
    });
  }

  getProp(obj: GuestRef, key: string | number): GuestRef {
    return this.guard((ffi) => {
      const target = this.get(obj);
      if (typeof key === "number" && Number.isInteger(key) && key >= 0 && key <= 0x7fffffff) return this.unwrap(ffi.QTS_GetPropNumber(this.ctx, target, key));
      const name = this.newString(String(key));
      try {
        return this.unwrap(ffi.QTS_GetProp(this.ctx, target, name));
      } finally {
        this.free(name);
      }
    });
  }

  setProp(obj: GuestRef, key: string, value: GuestRef): void {
    this.guard((ffi) => {
      const name = this.newString(key);
      try {
        ffi.QTS_SetProp(this.ctx, this.get(obj), name, this.get(value));
      } finally {
        this.free(name);
      }
    });
  }

  newPromise(): { promise: GuestRef; resolve(value: GuestRef): void; reject(value: GuestRef): void } {
    return this.guard((ffi) => {
      const out = this.scratchWords();
      const promise = this.own(ffi.QTS_NewPromiseCapability(this.ctx, out));
      const functions = [this.own(this.u32(out)), this.own(this.u32(out + 4))] as const;
      let settled = false;
      const settle = (which: 0 | 1) => (value: GuestRef) => {
        if (settled) return;
        settled = true;
        this.guard(() => {
          try {
            this.free(this.call(functions[which], null, [value]));
          } finally {
            for (const fn of functions) if (this.owned.has(fn)) this.free(fn);
          }
        });
      };
      return { promise, resolve: settle(0), reject: settle(1) };
    });
  }

  promiseState(promise: GuestRef): PromiseState {
    return this.guard((ffi) => {
      const address = this.get(promise);
      const state = ffi.QTS_PromiseState(this.ctx, address);
      // A non-promise reports "fulfilled" with itself: our own copy of it.
      if (state < 0) return { state: "fulfilled", value: this.own(ffi.QTS_DupValuePointer(this.ctx, address)) };
      if (state === PROMISE_PENDING) return { state: "pending" };
      const value = this.own(ffi.QTS_PromiseResult(this.ctx, address));
      if (state === PROMISE_FULFILLED) return { state: "fulfilled", value };
      // Read for the host, which awaits this outcome: the rejection is handled (rejection-tracker.ts).
      this.tracker?.markHandled(address);
      return { state: "rejected", value };
    });
  }

  isPromise(ref: GuestRef): boolean {
    return this.guard((ffi) => ffi.QTS_PromiseState(this.ctx, this.get(ref)) >= 0);
  }

  runJobs(max = -1): number {
    return this.guard((ffi) => {
      const out = this.scratchWords();
      new Uint32Array(this.live().memory.buffer, out, 1)[0] = 0; // set only when a job ran
      const result = ffi.QTS_ExecutePendingJob(this.rt, max, out);
      if (this.u32(out) === 0) {
        ffi.QTS_FreeValuePointerRuntime(this.rt, result);
        return 0;
      }
      const count = this.unwrap(result);
      try {
        return ffi.QTS_GetFloat64(this.ctx, count);
      } finally {
        this.free(count);
      }
    });
  }

  hasPendingJobs(): boolean {
    return this.guard((ffi) => ffi.QTS_IsJobPending(this.rt) !== 0);
  }

  setModuleLoader(loader: EngineModuleLoader): void {
    this.guard((ffi) => {
      this.loader = loader;
      ffi.QTS_RuntimeEnableModuleLoader(this.rt, 1);
    });
  }

  /** The engine's C-level binary encoding of `ref` (JS_WriteObject); GuestThrow when it refuses the value. */
  encodeBinary(ref: GuestRef): Uint8Array {
    return this.guard((ffi) => {
      const buffer = this.unwrap(ffi.QTS_bjson_encode(this.ctx, this.get(ref)));
      try {
        return this.getArrayBuffer(buffer);
      } finally {
        this.free(buffer);
      }
    });
  }

  /** A guest value decoded from the engine's binary encoding (JS_ReadObject); GuestThrow on malformed input. */
  decodeBinary(bytes: Uint8Array): GuestRef {
    return this.guard((ffi) => {
      const buffer = this.newArrayBuffer(bytes);
      try {
        return this.unwrap(ffi.QTS_bjson_decode(this.ctx, buffer));
      } finally {
        this.free(buffer);
      }
    });
  }

  takeUnhandledRejections(limit = Infinity): GuestRef[] {
    return this.guard((ffi) => {
      if (!this.tracker) return [];
      return this.tracker.take(limit, (held) => {
        if (ffi.QTS_PromiseState(this.ctx, held.value) !== 2) return undefined;
        return this.own(ffi.QTS_PromiseResult(this.ctx, held.value));
      });
    });
  }

  pollSoon(): boolean {
    return this.alive && this.pacer !== undefined && this.pacer.pollSoon();
  }

  free(ref: GuestRef): void {
    if (!this.alive) return; // after a fault everything was dropped at once
    if (this.borrowed.has(ref) && !this.owned.has(ref)) return; // borrowed: the engine frees it
    if (!this.owned.delete(ref)) throw new Error(`rexec internal error: unknown or freed guest ref ${ref}`);
    this.guard((ffi) => ffi.QTS_FreeValuePointer(this.ctx, ref));
  }

  /**
   * End this engine. An engine from an image hands its instance back to
   * `release` (the instance pool scrubs and reuses it); otherwise its runtime
   * is freed and the instance dropped.
   */
  dispose(release?: (instance: EngineInstance) => void): void {
    const instance = this.instance;
    if (!instance || instance.broken) return this.abandon(false);
    this.pacer?.disable();
    if (release) {
      this.tracker?.abandon();
      instance.tenant = undefined;
      this.instance = undefined;
      this.owned.clear();
      this.hostFunctions.clear();
      this.loader = undefined;
      release(instance);
      return;
    }
    try {
      for (const ref of this.owned) this.ffi.QTS_FreeValuePointer(this.ctx, ref);
      this.owned.clear();
      this.tracker?.shutDown();
      this.ffi.QTS_FreeContext(this.ctx);
      this.ffi.QTS_FreeRuntime(this.rt);
    } catch {
      // A leak inside a runtime we are discarding anyway must not take the host
      // down: the whole wasm instance is dropped below.
    } finally {
      this.abandon(false);
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
