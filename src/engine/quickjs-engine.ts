/**
 * The {@link Engine} on QuickJS compiled to WebAssembly (quickjs-emscripten).
 *
 * Threats this file closes (see ENGINE-FACTS in the design notes):
 *
 * - `setMemoryLimit` only bounds single allocations, not the total. So every
 *   sandbox gets its **own wasm instance with its own `WebAssembly.Memory`**,
 *   whose `maximum` the wasm engine enforces: the guest heap cannot grow past it
 *   whatever allocation pattern it uses. The compiled module is shared.
 * - Wasm recursion runs on the host thread's native stack. When it overflows,
 *   V8 throws a host `RangeError` through the wasm frames and the QuickJS
 *   runtime is left corrupt (freeing it aborts). Every entry into the engine is
 *   guarded: such a fault drops the whole wasm instance without freeing it and
 *   marks the engine dead ({@link EngineFault}); nothing is ever called on it again.
 * - A host callback that throws would be turned by quickjs-emscripten into a
 *   guest error carrying the host stack (host paths). Callbacks here never let
 *   a host exception escape: they answer with a plain guest error.
 * - The engine calls its interrupt handler only every ~10000 polls, however
 *   long the native calls between them take. An {@link InterruptPacer} paces
 *   the polls by time and lets guarded natives ask for the next poll at once
 *   ({@link Engine.pollSoon}).
 *
 * @packageDocumentation
 */
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
} from "quickjs-emscripten-core";
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
import { BASELINE_PAGES, WASM_PAGE_BYTES, baseVariant, compiledModule, ENGINE_VARIANT, type EngineVariantName } from "./wasm-variant.js";
import { utcInstantiateWasm } from "./utc-time.js";
import { warmUpEngine } from "./warm-up.js";
import { HeapGrowthWatch } from "./heap-growth.js";
import { installRejectionTracker, TrackerBrokeEngine, type RejectionTracker } from "./rejection-tracker.js";

/** Options of {@link createQuickJSEngine} beyond the generic {@link EngineOptions}. */
export interface QuickJSEngineOptions extends EngineOptions {
  /** The QuickJS build; defaults to {@link ENGINE_VARIANT}. */
  readonly variant?: EngineVariantName;
  /** Where the engine's own diagnostics (emscripten's printErr) go. */
  readonly log?: (line: string) => void;
  /** Warm the engine up first, once per thread (warm-up.ts). Default true; false for the warm-up's own engine. */
  readonly warmUp?: boolean;
}

/** Pages of wasm memory for a guest heap of `memoryBytes` on top of the engine's baseline. */
export function wasmPagesFor(memoryBytes: number): number {
  return BASELINE_PAGES + Math.ceil(memoryBytes / WASM_PAGE_BYTES);
}

/** Create a new engine: one wasm instance, one runtime, one context. */
export async function createQuickJSEngine(options: QuickJSEngineOptions): Promise<Engine> {
  const variantName = options.variant ?? ENGINE_VARIANT;
  if (options.warmUp !== false) await warmUpEngine(variantName);
  const maximum = wasmPagesFor(options.memoryBytes);
  const memory = new WebAssembly.Memory({ initial: BASELINE_PAGES, maximum });
  const log = options.log ?? (() => {});
  // The instance's exports, for the rejection tracker (its function table).
  let wasmExports: Record<string, unknown> | undefined;
  // Refused memory growth is counted (heap-growth.ts): an OOM some natives fail to report still reads as one.
  const growth = new HeapGrowthWatch();
  const instantiate = utcInstantiateWasm(compiledModule(variantName), memory, growth.wrap);
  const module = await newQuickJSWASMModuleFromVariant(
    newVariant(baseVariant(variantName), {
      wasmMemory: memory,
      // Emscripten prints aborts to the console by default; route them instead.
      // instantiateWasm: the compiled module, with the guest's clock in UTC (see utc-time.ts).
      emscriptenModule: { print: log, printErr: log, instantiateWasm: (imports: never, ok: never) => (wasmExports = instantiate(imports, ok)) } as never,
    }),
  );
  const runtime = module.newRuntime();
  // QuickJS's own accounting refuses single huge allocations early and cheaply;
  // the wasm memory maximum is what bounds the total.
  runtime.setMemoryLimit(options.memoryBytes);
  runtime.setMaxStackSize(options.stackBytes);
  const context = runtime.newContext();
  // --- Unhandled-rejection tracking (rejection-tracker.ts): installed and
  // self-tested before any guest code runs and before the interrupt handler.
  let tracker: RejectionTracker;
  try {
    tracker = installRejectionTracker({ memory, wasmExports, runtime, context, variant: variantName, log });
  } catch (error) {
    // The self-test broke this instance: drop it unfreed; tracking is now off for this build.
    if (error instanceof TrackerBrokeEngine) return createQuickJSEngine(options);
    throw error;
  }
  // --- end of rejection tracking set-up
  // Poll pacing (see interrupt-pacer.ts): verified before any guest code runs
  // (by a probe handler on the first instance of a build per thread, later
  // ones at their first observed reset), then the real handler.
  const pacer = new InterruptPacer(memory, (context as unknown as { ctx: { value: number } }).ctx.value, variantName);
  const verified = pacer.verify(
    (handler) => runtime.setInterruptHandler(handler),
    (iterations) => context.unwrapResult(context.evalCode(`for (let i = 0; i < ${iterations}; i++) {}`, "<rexec:pacer-probe>")).dispose(),
  );
  if (!verified) log(`interrupt pacing unavailable for ${variantName}: native-heavy loops are polled at the engine's own rate`);
  runtime.setInterruptHandler(() => {
    if (options.shouldInterrupt()) return true;
    pacer.afterPoll();
    return false;
  });
  return new QuickJSEngine(runtime, context, memory, maximum * WASM_PAGE_BYTES, pacer, tracker, growth);
}

function isNativeStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

class QuickJSEngine implements Engine {
  private runtime: QuickJSRuntime | undefined;
  private context: QuickJSContext | undefined;
  private memory: WebAssembly.Memory | undefined;
  private readonly handles = new Map<number, QuickJSHandle>();
  private nextRef = 1;
  /** A fault seen inside a host callback, raised once control is back on the host. */
  private pendingFault: EngineFault | undefined;
  private loader: EngineModuleLoader | undefined;

  constructor(
    runtime: QuickJSRuntime,
    context: QuickJSContext,
    memory: WebAssembly.Memory,
    readonly heapLimitBytes: number,
    private readonly pacer: InterruptPacer,
    private readonly tracker: RejectionTracker,
    private readonly growth: HeapGrowthWatch,
  ) {
    this.runtime = runtime;
    this.context = context;
    this.memory = memory;
  }

  get alive(): boolean {
    return this.context !== undefined;
  }

  get heapBytes(): number {
    return this.memory?.buffer.byteLength ?? 0;
  }

  get refusedHeapGrowths(): number {
    return this.growth.failures;
  }

  private ctx(): QuickJSContext {
    if (!this.context) throw new EngineFault("disposed", "the engine has been disposed");
    return this.context;
  }

  /** Drop the whole instance without freeing anything in it: it may be corrupt. */
  private abandon(): void {
    this.pacer.disable();
    this.tracker.abandon();
    this.handles.clear();
    this.context = undefined;
    this.runtime = undefined;
    this.memory = undefined;
    this.loader = undefined;
  }

  /** Run `fn` against the engine; turn host-visible engine failures into EngineFault. */
  private guard<T>(fn: (ctx: QuickJSContext) => T): T {
    const ctx = this.ctx();
    let result: T;
    try {
      result = fn(ctx);
    } catch (error) {
      if (isNativeStackOverflow(error)) {
        this.abandon();
        throw new EngineFault("stack", "the engine overflowed the native stack", { cause: error });
      }
      if (error instanceof WebAssembly.RuntimeError) {
        this.abandon();
        throw new EngineFault("trap", `the engine trapped: ${error.message}`, { cause: error });
      }
      this.raisePendingFault();
      // GuestThrow, or an error of the binding's own checks (e.g. "not an
      // ArrayBuffer"): the engine itself is still sound.
      throw error;
    }
    this.raisePendingFault();
    return result;
  }

  private raisePendingFault(): void {
    const fault = this.pendingFault;
    if (fault) {
      this.pendingFault = undefined;
      this.abandon();
      throw fault;
    }
  }

  private put(handle: QuickJSHandle): GuestRef {
    const ref = this.nextRef++ as GuestRef;
    this.handles.set(ref, handle);
    return ref;
  }

  private get(ref: GuestRef): QuickJSHandle {
    const handle = this.handles.get(ref);
    if (!handle) throw new Error(`rexec internal error: unknown or freed guest ref ${ref}`);
    return handle;
  }

  private unwrap(result: { error?: QuickJSHandle; value?: QuickJSHandle }): GuestRef {
    if (result.error) throw new GuestThrow(this.put(result.error));
    return this.put(result.value!);
  }

  evalScript(code: string, fileName: string): GuestRef {
    return this.guard((ctx) => this.unwrap(ctx.evalCode(code, fileName, { type: "global" })));
  }

  evalModule(code: string, fileName: string): GuestRef {
    return this.guard((ctx) => this.unwrap(ctx.evalCode(code, fileName, { type: "module" })));
  }

  call(fn: GuestRef, thisArg: GuestRef | null, args: readonly GuestRef[]): GuestRef {
    return this.guard((ctx) => {
      const self = thisArg === null ? ctx.undefined : this.get(thisArg);
      return this.unwrap(ctx.callFunction(this.get(fn), self, args.map((a) => this.get(a))));
    });
  }

  newFunction(name: string, impl: HostCallback): GuestRef {
    return this.guard((ctx) => {
      const engine = this;
      const handle = ctx.newFunction(name, function (...argHandles: QuickJSHandle[]) {
        // Arguments are borrowed for the duration of the call only: their refs
        // name quickjs-emscripten's borrowed (weak) handles, dropped afterwards.
        const argRefs = argHandles.map((h) => engine.put(h));
        try {
          const resultRef = impl(argRefs);
          if (resultRef === undefined) return undefined;
          const result = engine.get(resultRef);
          engine.handles.delete(resultRef);
          return result;
        } catch (error) {
          if (error instanceof GuestThrow) {
            const thrown = engine.get(error.value);
            engine.handles.delete(error.value);
            return { error: thrown };
          }
          if (isNativeStackOverflow(error)) {
            engine.pendingFault = new EngineFault("stack", "the native stack overflowed inside a host callback", { cause: error });
          } else if (!(error instanceof EngineFault)) {
            engine.pendingFault = new EngineFault("trap", `rexec internal error in a host callback: ${(error as Error)?.message}`, { cause: error });
          } else {
            engine.pendingFault = error;
          }
          // A plain guest error with a fixed message: never the host error itself.
          return { error: ctx.newError({ name: "InternalError", message: "host callback failed" }) };
        } finally {
          for (const ref of argRefs) engine.handles.delete(ref);
        }
      });
      return this.put(handle);
    });
  }

  newString(value: string): GuestRef {
    return this.guard((ctx) => this.put(ctx.newString(value)));
  }

  newNumber(value: number): GuestRef {
    return this.guard((ctx) => this.put(ctx.newNumber(value)));
  }

  newArrayBuffer(bytes: Uint8Array): GuestRef {
    return this.guard((ctx) => {
      // quickjs-emscripten copies the bytes into the guest heap.
      return this.put(ctx.newArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
    });
  }

  undefinedRef(): GuestRef {
    return this.guard((ctx) => this.put(ctx.undefined.dup()));
  }

  globalRef(): GuestRef {
    return this.guard((ctx) => this.put(ctx.global.dup()));
  }

  typeOf(ref: GuestRef): string {
    return this.guard((ctx) => ctx.typeof(this.get(ref)));
  }

  getString(ref: GuestRef): string {
    return this.guard((ctx) => ctx.getString(this.get(ref)));
  }

  getNumber(ref: GuestRef): number {
    return this.guard((ctx) => ctx.getNumber(this.get(ref)));
  }

  getArrayBuffer(ref: GuestRef): Uint8Array {
    return this.guard((ctx) => {
      const view = ctx.getArrayBuffer(this.get(ref));
      try {
        return view.value.slice(); // copy out of the wasm heap before it is freed
      } finally {
        view.dispose();
      }
    });
  }

  encodeBinary(ref: GuestRef): Uint8Array {
    return this.guard((ctx) => {
      const result = ctx.encodeBinaryJSON(this.get(ref));
      const thrown = this.exceptionOf(ctx, result);
      if (thrown !== undefined) throw new GuestThrow(this.put(thrown));
      try {
        const view = ctx.getArrayBuffer(result);
        try {
          return view.value.slice(); // copy out of the wasm heap before it is freed
        } finally {
          view.dispose();
        }
      } finally {
        result.dispose();
      }
    });
  }

  decodeBinary(bytes: Uint8Array): GuestRef {
    return this.guard((ctx) => {
      const buffer = ctx.newArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      try {
        const result = ctx.decodeBinaryJSON(buffer);
        const thrown = this.exceptionOf(ctx, result);
        if (thrown !== undefined) throw new GuestThrow(this.put(thrown));
        return this.put(result);
      } finally {
        buffer.dispose();
      }
    });
  }

  /**
   * The binary JSON calls return the exception marker instead of a value when
   * they fail; quickjs-emscripten-core does not check it for them, so do what
   * its callFunction does: take the pending exception and drop the marker.
   */
  private exceptionOf(ctx: QuickJSContext, result: QuickJSHandle): QuickJSHandle | undefined {
    const inner = ctx as unknown as { ffi: { QTS_ResolveException(c: unknown, v: unknown): number }; ctx: { value: unknown }; rt: { value: never } };
    const errorPtr = inner.ffi.QTS_ResolveException(inner.ctx.value, result.value);
    if (!errorPtr) return undefined;
    result.dispose();
    return ctx.getMemory(inner.rt.value).heapValueHandle(errorPtr as never);
  }

  getProp(obj: GuestRef, key: string | number): GuestRef {
    return this.guard((ctx) => this.put(ctx.getProp(this.get(obj), key)));
  }

  setProp(obj: GuestRef, key: string, value: GuestRef): void {
    this.guard((ctx) => ctx.setProp(this.get(obj), key, this.get(value)));
  }

  newPromise(): { promise: GuestRef; resolve(value: GuestRef): void; reject(value: GuestRef): void } {
    return this.guard((ctx) => {
      const deferred = ctx.newPromise();
      const promise = this.put(deferred.handle.dup());
      const settle = (how: "resolve" | "reject") => (value: GuestRef) => {
        this.guard(() => {
          deferred[how](this.get(value));
          deferred.dispose();
        });
      };
      return { promise, resolve: settle("resolve"), reject: settle("reject") };
    });
  }

  promiseState(promise: GuestRef): PromiseState {
    return this.guard((ctx) => {
      const state = ctx.getPromiseState(this.get(promise));
      if (state.type === "pending") return { state: "pending" };
      if (state.type === "fulfilled") {
        // A non-promise reports "fulfilled" with the same handle: take our own copy.
        const value = state.notAPromise ? state.value.dup() : state.value;
        return { state: "fulfilled", value: this.put(value) };
      }
      // Read for the host, which awaits this outcome: the rejection is handled (rejection-tracker.ts).
      this.tracker.markHandled(this.get(promise).value);
      return { state: "rejected", value: this.put(state.error) };
    });
  }

  isPromise(ref: GuestRef): boolean {
    return this.guard((ctx) => {
      // The engine's promise state doubles as the brand check: a non-promise reports "not a promise".
      const state = ctx.getPromiseState(this.get(ref));
      if (state.type === "pending") return true;
      if (state.type === "fulfilled") {
        if (state.notAPromise) return false;
        state.value.dispose();
        return true;
      }
      state.error.dispose();
      return true;
    });
  }

  runJobs(max = -1): number {
    return this.guard(() => {
      const result = this.runtime!.executePendingJobs(max);
      if (result.error) throw new GuestThrow(this.put(result.error));
      return result.value;
    });
  }

  hasPendingJobs(): boolean {
    return this.guard(() => this.runtime!.hasPendingJob());
  }

  setModuleLoader(loader: EngineModuleLoader): void {
    this.loader = loader;
    this.guard((ctx) => {
      const failure = (message: unknown) => ({ error: ctx.newError({ name: "Error", message: String(message) }) });
      this.runtime!.setModuleLoader(
        (id) => {
          try {
            return this.loader!.load(id);
          } catch (error) {
            return failure(typeof error === "string" ? error : "module could not be loaded");
          }
        },
        (referrer, specifier) => {
          try {
            return this.loader!.normalize(referrer, specifier);
          } catch (error) {
            return failure(typeof error === "string" ? error : "module could not be resolved");
          }
        },
      );
    });
  }

  takeUnhandledRejections(limit = Infinity): GuestRef[] {
    return this.guard((ctx) =>
      this.tracker.take(limit, (promise) => {
        const state = ctx.getPromiseState(promise as unknown as QuickJSHandle);
        if (state.type === "rejected") return this.put(state.error);
        if (state.type === "fulfilled" && !state.notAPromise) state.value.dispose();
        return undefined;
      }),
    );
  }

  pollSoon(): boolean {
    return this.context !== undefined && this.pacer.pollSoon();
  }

  private freeQuietly(ref: GuestRef): void {
    const handle = this.handles.get(ref);
    if (!handle) return;
    this.handles.delete(ref);
    if (handle.alive) handle.dispose();
  }

  free(ref: GuestRef): void {
    if (!this.context) return; // after a fault everything was dropped at once
    this.guard(() => {
      this.get(ref);
      this.freeQuietly(ref);
    });
  }

  dispose(): void {
    const context = this.context;
    const runtime = this.runtime;
    if (!context || !runtime) return;
    try {
      for (const handle of this.handles.values()) if (handle.alive) handle.dispose();
      this.tracker.shutDown();
      context.dispose();
      runtime.dispose();
    } catch {
      // A leak inside a runtime we are discarding anyway (e.g. objects kept alive
      // by a cycle through a host function) must not take the host down: the
      // whole wasm instance is dropped below and garbage-collected with its memory.
    } finally {
      this.abandon();
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
