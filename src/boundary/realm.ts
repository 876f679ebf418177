/**
 * A guest realm and everything that crosses into and out of it.
 *
 * This is the boundary layer: it owns the engine, installs the guest kernel
 * (guest/kernel.js) before any guest code runs, copies values both ways, wraps
 * host functions, drives promises to completion, and enforces the limits of
 * every call. The host API (src/host) builds policy on top of it; the engine
 * (src/engine) knows nothing of it.
 *
 * Lifetimes: one {@link GuestRealm} owns one engine. Calls are serialised (a
 * realm runs one call at a time). Refs created during a call are freed when the
 * call ends. After an engine fault the realm is dead and says so.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { types } from "node:util";
import type { Engine, EngineModuleLoader, GuestRef } from "../engine/engine.js";
import { EngineFault, GuestThrow } from "../engine/engine.js";
import { createQuickJSEngine } from "../engine/quickjs-engine.js";
import type { EngineVariantName } from "../engine/wasm-variant.js";
import {
  CloneError,
  DisposedError,
  GuestError,
  MemoryLimitError,
  OutputLimitError,
  RExecError,
  StackLimitError,
  SystemExit,
  TimeoutError,
} from "../host/errors.js";
import { CpuBudget } from "./cpu-budget.js";
import { decodeGuestValue } from "./host-decode.js";
import { handled } from "./handled.js";
import { closeHostCallScope, insideHostCallOf, openHostCallScope, runInHostCallScope, type HostCallScope } from "./host-call-scope.js";
import { describeThrown } from "./thrown-preview.js";
import { takeSpare } from "./spare-realms.js";
import { encodeHostValue } from "./host-encode.js";

/** Limits the boundary enforces; see `Limits` in the host API for meaning and defaults. */
export interface RealmLimits {
  readonly memoryBytes: number;
  readonly timeoutMs: number;
  readonly wallTimeMs: number;
  readonly stackBytes: number;
  readonly outputBytes: number;
  readonly resultBytes: number;
}

/** Options for {@link GuestRealm.create}. */
export interface RealmOptions {
  readonly limits: RealmLimits;
  /** Logs real decisions (limit hits, host calls); never guest data beyond names and sizes. */
  readonly log: (line: string) => void;
  /** Whether `log` goes anywhere (lines on hot paths are only built when it does). */
  readonly verbose?: boolean;
  readonly variant?: EngineVariantName;
}

/** A native installed with {@link GuestRealm.installRaw}: arguments as refs, returns a ref it hands over (or nothing). */
export type RawNative = (engine: Engine, args: readonly GuestRef[]) => GuestRef | undefined;

/** Where guest output goes during a call. */
export type OutputSink = (stream: "stdout" | "stderr", text: string) => void;

type AnyFunction = (...args: never[]) => unknown;

const KERNEL_SOURCE = readFileSync(new URL("./guest/kernel.js", import.meta.url), "utf8");
const KERNEL_FILE = "<rexec:kernel>";

/** How long extracting a thrown error may take after the call's own budget ran out. */
const ERROR_EXTRACTION_MS = 250;

/**
 * CPU budget of setup calls (prelude, module runtime, copying the host's
 * globals in): they run before any guest code, so only rexec's own code and
 * the host's data decide how long they take.
 */
const SETUP_BUDGET_MS = 60_000;

/** Budget and job count for running a stopped call's leftover promise jobs. */
const LEFTOVER_JOBS_MS = 50;
const LEFTOVER_JOBS_MAX = 1000;

/** Characters the engine's C-string transfer cannot carry (NUL, lone surrogates). */
const UNSAFE_FOR_ENGINE_STRING = /[\0\ud800-\udfff]/;

/** Guest calls made from host functions may nest this deep (see runNested). */
const MAX_NESTED_CALLS = 64;

/** Messages QuickJS builds use for a stack overflow caught inside the engine. */
const STACK_OVERFLOW = /^(Maximum call stack size exceeded|stack overflow)$/;

interface KernelRefs {
  readonly encode: GuestRef;
  readonly decode: GuestRef;
  readonly callGuest: GuestRef;
  readonly callGuestPrim: GuestRef;
  readonly releaseGuest: GuestRef;
  readonly makeError: GuestRef;
  readonly defineGlobal: GuestRef;
  readonly isPromise: GuestRef;
}

/** A guest realm: one engine, its kernel, its host functions and its limits. */
export class GuestRealm {
  private engine: Engine | undefined;
  private readonly kernel: KernelRefs;
  private readonly hostFunctions = new Map<number, AnyFunction>();
  private readonly hostFunctionIds = new Map<AnyFunction, number>();
  private readonly budget: CpuBudget;
  /** Host promise settlements waiting to be applied inside a call's budget. */
  private readonly settlements: Array<() => void> = [];
  private pendingHostCalls = 0;
  private wake: (() => void) | undefined;
  /** Guest function ids whose host wrapper was garbage-collected; released at the next call. */
  private readonly releasedGuestFunctions: number[] = [];
  private readonly guestFunctionRegistry = new FinalizationRegistry<number>((id) => this.releasedGuestFunctions.push(id));
  /** Serialises calls: a realm runs one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private deathReason: string | undefined;

  // Per-call state.
  private outputSink: OutputSink = () => {};
  private outputUsed = 0;
  private outputExceeded = false;
  private exitCode: number | undefined;
  private callRefs: GuestRef[] = [];
  private inCall = false;
  private wallDeadline = Infinity;
  /** CPU milliseconds charged to the guest by the most recent call. */
  lastCallCpuMs = 0;
  /** dispose() was called during the running call; the engine is freed when it ends. */
  private disposeRequested = false;
  /** The engine's refused heap growths when the running call started (see classify). */
  private refusedGrowthsAtStart = 0;
  /** CPU of the running call already closed off by side budgets (see openSideBudget). */
  private bankedCpuMs = 0;

  private constructor(
    engine: Engine,
    budget: CpuBudget,
    private options: RealmOptions,
  ) {
    this.engine = engine;
    this.budget = budget;
    this.budget.begin(Math.max(options.limits.timeoutMs, 1000));
    try {
      this.kernel = this.installKernel(engine);
    } finally {
      this.budget.end();
    }
  }

  /** Create a realm with its own engine and kernel. */
  static async create(options: RealmOptions): Promise<GuestRealm> {
    const spare = takeSpare(options);
    if (spare) {
      spare.options = options;
      return spare;
    }
    return GuestRealm.createFresh(options);
  }

  /** A new realm, never from the spares (used to fill them). */
  static async createFresh(options: RealmOptions): Promise<GuestRealm> {
    const budget = new CpuBudget();
    let realm: GuestRealm | undefined;
    const engine = await createQuickJSEngine({
      memoryBytes: options.limits.memoryBytes,
      stackBytes: options.limits.stackBytes,
      shouldInterrupt: budget.shouldInterrupt,
      variant: options.variant,
      // The realm's current logger (a spare realm gets its owner's options later).
      log: (line) => (realm?.options ?? options).log(`engine: ${line}`),
    });
    realm = new GuestRealm(engine, budget, options);
    return realm;
  }

  private installKernel(engine: Engine): KernelRefs {
    const factory = engine.evalScript(KERNEL_SOURCE, KERNEL_FILE);
    const bridge = engine.newFunction("bridge", (args) => this.onBridgeCall(args));
    const bridgePrim = engine.newFunction("bridgePrim", (args) => this.onBridgePrim(args));
    const limit = engine.newNumber(this.options.limits.resultBytes);
    const api = engine.call(factory, null, [bridge, limit, bridgePrim]);
    const get = (name: string) => engine.getProp(api, name);
    const refs: KernelRefs = {
      encode: get("encode"),
      decode: get("decode"),
      callGuest: get("callGuest"),
      callGuestPrim: get("callGuestPrim"),
      releaseGuest: get("releaseGuest"),
      makeError: get("makeError"),
      defineGlobal: get("defineGlobal"),
      isPromise: get("isPromise"),
    };
    for (const ref of [factory, bridge, bridgePrim, limit, api]) engine.free(ref);
    return refs;
  }

  /** True until disposed or killed by an engine fault. */
  get alive(): boolean {
    return this.engine?.alive === true;
  }

  /** Bytes of wasm memory the realm uses now (its high-water mark: wasm memory never shrinks). */
  get heapBytes(): number {
    return this.engine?.heapBytes ?? 0;
  }

  private live(): Engine {
    const engine = this.engine;
    if (!engine || !engine.alive || this.disposeRequested) {
      throw new DisposedError(this.deathReason ?? "dispose() was called");
    }
    return engine;
  }

  private temp(ref: GuestRef): GuestRef {
    this.callRefs.push(ref);
    return ref;
  }

  // ---------------------------------------------------------------------------
  // Calls

  /**
   * Run one call: `enter` starts guest work and returns a guest value; a guest
   * promise is driven to settlement; the result is copied out unless
   * `copyResult` is false. Limits apply from start to finish.
   */
  run(enter: (engine: Engine) => GuestRef, output: OutputSink, copyResult = true, budgetMs = this.options.limits.timeoutMs, untilIdle = false): Promise<unknown> {
    const next = this.queue.then(() => this.runNow(enter, output, copyResult, budgetMs, untilIdle));
    this.queue = next.catch(() => {});
    return next;
  }

  private async runNow(enter: (engine: Engine) => GuestRef, output: OutputSink, copyResult: boolean, budgetMs: number, untilIdle: boolean): Promise<unknown> {
    const engine = this.live();
    this.wallDeadline = performance.now() + this.options.limits.wallTimeMs;
    this.outputSink = output;
    this.outputUsed = 0;
    this.outputExceeded = false;
    this.exitCode = undefined;
    this.inCall = true;
    this.bankedCpuMs = 0;
    this.refusedGrowthsAtStart = engine.refusedHeapGrowths;
    this.budget.begin(budgetMs);
    try {
      this.releaseCollectedGuestFunctions(engine);
      this.applySettlements();
      let result = this.temp(enter(engine));
      this.drainJobs(engine);
      let type = engine.typeOf(result);
      if (type === "object" && this.isPromise(engine, result)) {
        result = await this.settle(engine, result);
        type = engine.typeOf(result);
      }
      // Like a script run by Node: wait for the host calls and timers it started.
      if (untilIdle) await this.idle(engine);
      this.checkStops();
      // Like Node: a guest rejection still unhandled once the call's jobs are drained
      // fails the call with its reason (the first one; see engine/rejection-tracker.ts).
      const [unhandled] = engine.takeUnhandledRejections(1);
      if (unhandled !== undefined) throw new GuestThrow(this.temp(unhandled));
      if (!copyResult) return undefined;
      const primitive = primitiveOf(engine, result, type);
      if (primitive !== NOT_PRIMITIVE) return primitive; // no guest code ran while copying
      const value = this.copyOut(engine, result);
      // Getters run while copying may have queued jobs: they belong to this call.
      this.drainJobs(engine);
      this.checkStops();
      return value;
    } catch (error) {
      throw this.errorMapper(this.discardLeftoverJobs(this.classify(error)));
    } finally {
      const spent = this.bankedCpuMs + this.budget.end();
      this.lastCallCpuMs = spent;
      this.inCall = false;
      // A call that failed otherwise (or whose result getters rejected) leaves its
      // unhandled rejections here: they must not fail the next call.
      if (this.engine?.alive) this.engine.takeUnhandledRejections(0);
      // A host function still running after its call ended acts for nobody: its callbacks are independent calls now.
      for (const scope of this.liveHostScopes) closeHostCallScope(scope);
      this.liveHostScopes.clear();
      // Guest promises handed to host code by nested calls cannot settle once the call is over.
      for (const wait of this.nestedWaits.splice(0)) {
        this.callRefs.push(wait.promise);
        wait.reject(new RExecError("the sandbox call ended before this guest callback's promise settled"));
      }
      this.outputSink = () => {};
      this.freeCallRefs();
      if (this.disposeRequested) {
        this.disposeRequested = false;
        this.dispose(); // no longer in a call: frees the engine now
      }
      if (spent > this.options.limits.timeoutMs) this.options.log(`call used ${spent.toFixed(1)} ms of CPU`);
    }
  }

  private freeCallRefs(): void {
    const engine = this.engine;
    const refs = this.callRefs;
    this.callRefs = [];
    if (!engine?.alive) return;
    for (const ref of refs) {
      try {
        engine.free(ref);
      } catch {
        // already freed or engine gone; nothing to do
      }
    }
  }

  /** Is `ref` a genuine guest promise? Asked of the engine: no guest code (species, then) runs. */
  private isPromise(engine: Engine, ref: GuestRef): boolean {
    return engine.isPromise(ref);
  }

  /** Run queued promise jobs until none are left (a job loop is bounded by the budget). */
  private drainJobs(engine: Engine): void {
    do {
      while (engine.hasPendingJobs()) {
        engine.runJobs();
        this.checkStops();
        this.applySettlements();
      }
      if (this.nestedWaits.length > 0) this.settleNestedWaits(engine);
    } while (engine.hasPendingJobs());
  }

  /** Drive a guest promise until it settles, applying host results as they arrive. */
  private async settle(engine: Engine, promise: GuestRef): Promise<GuestRef> {
    for (;;) {
      this.drainJobs(engine);
      const state = engine.promiseState(promise);
      if (state.state === "fulfilled") return this.temp(state.value);
      if (state.state === "rejected") throw new GuestThrow(this.temp(state.value));
      if (this.settlements.length > 0) {
        this.applySettlements();
        continue;
      }
      if (this.pendingHostCalls === 0 && !engine.hasPendingJobs() && this.nestedWaits.length === 0) {
        throw new GuestError("Error", "the guest awaited a promise that can never settle (no host call or job is pending)", "", []);
      }
      await this.waitForHost();
    }
  }

  /** Run until no job, host call or timer of the guest is pending. */
  private async idle(engine: Engine): Promise<void> {
    for (;;) {
      this.applySettlements();
      this.drainJobs(engine);
      if (this.settlements.length > 0) continue;
      if (this.pendingHostCalls === 0 && !engine.hasPendingJobs()) return;
      await this.waitForHost();
    }
  }

  /** Wait for a host result. Waiting is not guest CPU time, but the wall-clock limit applies. */
  private async waitForHost(): Promise<void> {
    this.budget.pause();
    const remaining = this.wallDeadline - performance.now();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, Math.max(0, remaining));
    });
    clearTimeout(timer);
    this.wake = undefined;
    this.budget.resume();
    this.live();
    if (timedOut && this.settlements.length === 0) {
      this.options.log(`limit: wallTimeMs (${this.options.limits.wallTimeMs}) exceeded while waiting for host calls`);
      throw new TimeoutError(this.options.limits.wallTimeMs, " of wall-clock time while waiting for host calls or timers", "wallTimeMs");
    }
  }

  /** Applied to every error a call ends with (set by the host API: e.g. source-mapping TypeScript frames). */
  errorMapper: (error: Error) => Error = (error) => error;

  private applySettlements(): void {
    while (this.settlements.length > 0) this.settlements.shift()!();
  }

  /** Raise the limit or exit that stopped the guest, if any. */
  private checkStops(): void {
    if (this.disposeRequested) throw new DisposedError(this.deathReason ?? "dispose() was called");
    if (this.exitCode !== undefined) throw new SystemExit(this.exitCode);
    if (this.outputExceeded) throw new OutputLimitError(this.options.limits.outputBytes);
    if (this.budget.expired) throw new TimeoutError(this.options.limits.timeoutMs);
  }

  /**
   * After a call was stopped (timeout, exit, output cap), promise jobs it queued
   * must not run in the next call. QuickJS cannot clear its job queue, so they
   * are run with the stop flag set (each is interrupted at the engine's next
   * poll). A job flood that keeps queueing more cannot be drained: then the
   * realm is discarded and the error says so.
   */
  private discardLeftoverJobs(error: Error): Error {
    const engine = this.engine;
    if (!(error instanceof TimeoutError || error instanceof SystemExit || error instanceof OutputLimitError)) return error;
    if (!engine?.alive || !engine.hasPendingJobs()) return error;
    this.openSideBudget(LEFTOVER_JOBS_MS);
    this.budget.stopRequested = true;
    // Wall-clock bound over all leftover jobs: each job runs until the engine's
    // next poll, and a job can spend that on a native call; 1000 of them must
    // not add up (a flood of async chains each sorting natively ran 127 s).
    const until = performance.now() + LEFTOVER_JOBS_MS;
    try {
      for (let i = 0; i < LEFTOVER_JOBS_MAX && engine.alive && engine.hasPendingJobs() && performance.now() < until; i++) {
        // The very next poll stops this job (the stop flag is set): before its first native call where possible.
        engine.pollSoon();
        try {
          engine.runJobs(1);
        } catch (jobError) {
          if (jobError instanceof GuestThrow) engine.free(jobError.value);
          else throw jobError;
        }
      }
      if (!engine.alive || !engine.hasPendingJobs()) return error;
    } catch (fault) {
      if (!(fault instanceof EngineFault)) throw fault;
    } finally {
      this.closeSideBudget();
    }
    const reason = "promise jobs kept coming after the guest was stopped";
    this.options.log(`${reason}; sandbox disposed`);
    this.deathReason = reason;
    this.dispose();
    if (error instanceof TimeoutError) return new TimeoutError(this.options.limits.timeoutMs, ` (${reason}, so this RExec was disposed)`);
    return error;
  }

  /** Turn whatever stopped a call into the public error it stands for. */
  private classify(error: unknown): Error {
    const classified = this.classifyFailure(error);
    // dispose() called from inside the call (before or while the failure was read) wins.
    return this.disposeRequested ? new DisposedError(this.deathReason ?? "dispose() was called") : classified;
  }

  private classifyFailure(error: unknown): Error {
    const limits = this.options.limits;
    if (error instanceof EngineFault) {
      this.kill(error);
      if (error.kind === "stack") {
        this.options.log(`limit: stackBytes (${limits.stackBytes}) — native stack overflow, sandbox disposed`);
        return new StackLimitError(limits.stackBytes, " (the engine had to be discarded; this RExec is now disposed)");
      }
      // An allocation failure the engine could not turn into a guest error is the cap being hit;
      // any other trap (e.g. "memory access out of bounds") is an engine failure.
      return /out of memory|enlarge memory|could not allocate/i.test(error.message)
        ? new MemoryLimitError("memoryBytes", limits.memoryBytes, " (the engine had to be discarded; this RExec is now disposed)")
        : new RExecError(`the engine failed (${error.message}); this RExec is now disposed`, { cause: error });
    }
    if (this.exitCode !== undefined) return new SystemExit(this.exitCode);
    if (this.outputExceeded) {
      this.options.log(`limit: outputBytes (${limits.outputBytes}) exceeded`);
      return new OutputLimitError(limits.outputBytes);
    }
    if (this.budget.expired) {
      this.options.log(`limit: timeoutMs (${limits.timeoutMs}) exceeded`);
      return new TimeoutError(limits.timeoutMs);
    }
    if (error instanceof GuestThrow) {
      const guestError = this.toGuestError(error.value);
      // Reading the thrown value ran guest code: it may have called exit().
      if (this.exitCode !== undefined) return new SystemExit(this.exitCode);
      const heapFull = (this.engine?.heapBytes ?? 0) + 64 * 1024 >= (this.engine?.heapLimitBytes ?? Infinity);
      // QuickJS throws `null` when it runs out of memory while already handling an out-of-memory error.
      const oomNull = heapFull && guestError.thrown === null && /non-Error value: null$/.test(guestError.message);
      // Some natives fail an allocation without setting an exception: the guest "throws"
      // undefined. The memory import saw the cap refuse to grow (heap-growth.ts).
      const capRefused = (this.engine?.refusedHeapGrowths ?? 0) > this.refusedGrowthsAtStart;
      const oomSilent = capRefused && (guestError.thrown === undefined || guestError.thrown === null) && /non-Error value: (undefined|null)$/.test(guestError.message);
      if ((guestError.guestName === "InternalError" && guestError.message === "out of memory") || (guestError.unreadable && (heapFull || capRefused)) || oomNull || oomSilent) {
        this.options.log(`limit: memoryBytes (${limits.memoryBytes}) reached`);
        return new MemoryLimitError("memoryBytes", limits.memoryBytes);
      }
      if ((guestError.guestName === "RangeError" || guestError.guestName === "InternalError") && STACK_OVERFLOW.test(guestError.message)) {
        this.options.log(`limit: stackBytes (${limits.stackBytes}) reached`);
        return new StackLimitError(limits.stackBytes);
      }
      return guestError;
    }
    if (error instanceof Error) return error;
    return new RExecError(String(error));
  }

  /** Copy a thrown guest value out as a GuestError (getters run under a short fresh budget). */
  private toGuestError(thrown: GuestRef): GuestError {
    const engine = this.engine;
    if (!engine?.alive) return new GuestError("Error", "the guest threw, and the engine was lost", "", []);
    this.openSideBudget(Math.min(ERROR_EXTRACTION_MS, this.options.limits.timeoutMs));
    try {
      const value = this.copyOut(engine, thrown);
      if (value instanceof GuestError) return value;
      return new GuestError("Error", `guest threw a non-Error value: ${describeThrown(value)}`, "", [], value);
    } catch (error) {
      if (error instanceof EngineFault) throw error;
      const unreadable =
        error instanceof GuestThrow
          ? new GuestError("Error", "guest threw a value whose fields could not be read (reading them threw)", "", [])
          : error instanceof CloneError || error instanceof MemoryLimitError
            ? new GuestError("Error", `guest threw a value that cannot be copied: ${error.message}`, "", [])
            : new GuestError("Error", "guest threw a value that could not be read in time", "", []);
      unreadable.unreadable = true;
      return unreadable;
    } finally {
      this.closeSideBudget();
    }
  }

  /**
   * Run the next steps of a call under a fresh budget of `ms` (reading a
   * thrown value after the call's own budget is spent, draining leftover
   * jobs). The call's CPU so far is banked first, so `lastCallCpuMs` stays the
   * sum of both and the fresh deadline really starts now.
   */
  private openSideBudget(ms: number): void {
    this.bankedCpuMs += this.budget.end();
    this.budget.begin(ms);
  }

  private closeSideBudget(): void {
    this.bankedCpuMs += this.budget.end();
    // A closed, empty budget: anything that would still run is interrupted, and ending it again adds nothing.
    this.budget.begin(0);
    this.budget.end();
  }

  // ---------------------------------------------------------------------------
  // Copying

  /** Copy a guest value to the host (runs the guest kernel under the current budget). */
  private copyOut(engine: Engine, ref: GuestRef): unknown {
    const primitive = primitiveOf(engine, ref, engine.typeOf(ref));
    if (primitive !== NOT_PRIMITIVE) return primitive;
    const limit = this.options.limits.resultBytes;
    const limitRef = this.temp(engine.newNumber(limit));
    // Copying may run guest getters: start with a poll due at once, so the
    // poll counter left high by a tight loop cannot let many long getters run unpolled.
    engine.pollSoon();
    const encoded = this.temp(engine.call(this.kernel.encode, null, [ref, limitRef]));
    const first = this.temp(engine.getProp(encoded, 0));
    const firstType = engine.typeOf(first);
    if (firstType === "object") {
      const reasonRef = this.temp(engine.getProp(encoded, 1));
      const reason = engine.typeOf(reasonRef) === "string" ? engine.getString(reasonRef).slice(0, 200) : "an unknown value";
      if (reason === "size") {
        this.options.log(`limit: resultBytes (${limit}) exceeded`);
        throw new MemoryLimitError("resultBytes", limit);
      }
      throw new CloneError(`cannot copy ${reason} out of the sandbox`);
    }
    if (firstType !== "string") throw new CloneError("the sandbox returned a malformed value (no payload)");
    // A primitive string's length cannot be redefined by the guest: safe to trust.
    const length = engine.getNumber(this.temp(engine.getProp(first, "length")));
    if (length > limit) throw new MemoryLimitError("resultBytes", limit);
    const json = engine.getString(first);
    const count = engine.getNumber(this.temp(engine.getProp(encoded, "length")));
    // One payload plus at most one buffer per byte of the limit: anything else is not the kernel's answer.
    if (!Number.isInteger(count) || count < 1 || count > 1 + limit) throw new CloneError("the sandbox returned a malformed value (buffers)");
    const buffers: Uint8Array[] = [];
    let total = json.length;
    for (let i = 1; i < count; i++) {
      const item = this.temp(engine.getProp(encoded, i));
      let bytes: Uint8Array;
      try {
        bytes = engine.getArrayBuffer(item);
      } catch (error) {
        if (error instanceof EngineFault || error instanceof GuestThrow) throw error;
        throw new CloneError("the sandbox returned a malformed value (not an ArrayBuffer)");
      }
      total += bytes.byteLength;
      if (total > limit) throw new MemoryLimitError("resultBytes", limit);
      buffers.push(bytes);
    }
    return decodeGuestValue(json, buffers, (id, name) => this.guestFunction(id, name), limit);
  }

  /** Copy a host value into the guest; returns a ref (owned by the current call). */
  private copyIn(engine: Engine, value: unknown): GuestRef {
    const encoded = encodeHostValue(value, (fn) => this.registerHostFunction(fn));
    const args = [this.temp(engine.newString(encoded.json))];
    for (const bytes of encoded.buffers) args.push(this.temp(engine.newArrayBuffer(bytes)));
    return this.temp(engine.call(this.kernel.decode, null, args));
  }

  private registerHostFunction(fn: AnyFunction): number {
    let id = this.hostFunctionIds.get(fn);
    if (id === undefined) {
      id = this.hostFunctions.size + 1;
      this.hostFunctions.set(id, fn);
      this.hostFunctionIds.set(fn, id);
    }
    return id;
  }

  /** The host-side callable for a guest function: async, each call a full call under the limits. */
  private guestFunction(id: number, name: string): (...args: unknown[]) => Promise<unknown> {
    const realm = this;
    const enter = (engine: Engine, args: unknown[]): GuestRef => {
      // Fast path: numbers, undefined and short plain strings cross as themselves.
      if (args.length <= 8 && args.every(isEnginePrimitive)) {
        const refs = [realm.temp(engine.newNumber(id))];
        for (const a of args) {
          refs.push(realm.temp(a === undefined ? engine.undefinedRef() : typeof a === "number" ? engine.newNumber(a) : engine.newString(a as string)));
        }
        return engine.call(realm.kernel.callGuestPrim, null, refs);
      }
      const encoded = encodeHostValue(args, (f) => realm.registerHostFunction(f));
      const callArgs = [realm.temp(engine.newNumber(id)), realm.temp(engine.newString(encoded.json))];
      for (const bytes of encoded.buffers) callArgs.push(realm.temp(engine.newArrayBuffer(bytes)));
      return engine.call(realm.kernel.callGuest, null, callArgs);
    };
    const fn = {
      [name || "guestFunction"]: (...args: unknown[]): Promise<unknown> =>
        // Called by a host function on behalf of this realm's running call (a
        // callback): queueing it behind that call would deadlock, so it runs
        // now, inside the running call and under its budget. Called from
        // anywhere else, it is an independent call, queued like any other
        // (see host-call-scope.ts).
        // Either way the promise is born handled: a host that drops it (a
        // callback it fires and forgets) must not die of the guest's failure.
        handled(realm.inCall && insideHostCallOf(realm) ? realm.runNested((engine) => enter(engine, args)) : realm.run((engine) => enter(engine, args), realm.defaultSink)),
    }[name || "guestFunction"]!;
    this.guestFunctionRegistry.register(fn, id);
    return fn;
  }

  /** Scopes of async host calls still pending (closed when they settle or the call ends). */
  private readonly liveHostScopes = new Set<HostCallScope>();

  /** How many guest calls made from host functions are running inside each other right now. */
  private nestedDepth = 0;

  /** Guest promises returned to host code by nested calls, settled by the running call's driver. */
  private readonly nestedWaits: Array<{ promise: GuestRef; resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];

  /** Run guest code re-entrantly inside the running call (see {@link guestFunction}). */
  private runNested(enter: (engine: Engine) => GuestRef): Promise<unknown> {
    // Each level is a host function frame plus engine frames on the host's
    // own native stack; the guest decides how deep it goes. Refused with a
    // clear error long before the stack runs out (which would leave V8 unable
    // even to report the rejection).
    if (this.nestedDepth >= MAX_NESTED_CALLS) {
      return Promise.reject(new RExecError(`guest callbacks nested more than ${MAX_NESTED_CALLS} deep (a host function calling a guest function that calls a host function…); the call was refused to protect the host's stack`));
    }
    this.nestedDepth++;
    const paused = !this.budget.charging;
    if (paused) this.budget.resume();
    try {
      const engine = this.live();
      const result = this.temp(enter(engine));
      if (!engine.isPromise(result)) return Promise.resolve(this.copyOut(engine, result));
      return new Promise((resolve, reject) => {
        // Kept past this call's ref cleanup until it settles.
        this.callRefs.splice(this.callRefs.indexOf(result), 1);
        this.nestedWaits.push({ promise: result, resolve, reject });
        this.wake?.();
      });
    } catch (error) {
      if (error instanceof GuestThrow) return Promise.reject(this.readThrown(this.live(), error.value));
      return Promise.reject(error);
    } finally {
      this.nestedDepth--;
      if (paused) this.budget.pause();
    }
  }

  /** Settle the host promises of nested calls whose guest promise has settled. */
  private settleNestedWaits(engine: Engine): void {
    for (let i = 0; i < this.nestedWaits.length; ) {
      const wait = this.nestedWaits[i]!;
      const state = engine.promiseState(wait.promise);
      if (state.state === "pending") {
        i++;
        continue;
      }
      this.nestedWaits.splice(i, 1);
      this.temp(wait.promise);
      const value = this.temp(state.value);
      try {
        if (state.state === "fulfilled") wait.resolve(this.copyOut(engine, value));
        else wait.reject(this.readThrown(engine, value));
      } catch (error) {
        if (error instanceof EngineFault) throw error;
        wait.reject(error instanceof GuestThrow ? this.readThrown(engine, error.value) : error);
      }
    }
  }

  /** A thrown guest value as a GuestError, read under the current budget. */
  private readThrown(engine: Engine, thrown: GuestRef): GuestError {
    try {
      const value = this.copyOut(engine, thrown);
      if (value instanceof GuestError) return this.errorMapper(value) as GuestError;
      return new GuestError("Error", `guest threw a non-Error value: ${describeThrown(value)}`, "", [], value);
    } catch (error) {
      if (error instanceof EngineFault) throw error;
      return new GuestError("Error", "guest threw a value that could not be read", "", []);
    }
  }

  /** Output sink used by guest functions called from the host (set by the host API). */
  defaultSink: OutputSink = () => {};

  private releaseCollectedGuestFunctions(engine: Engine): void {
    while (this.releasedGuestFunctions.length > 0) {
      const id = this.releasedGuestFunctions.pop()!;
      engine.call(this.kernel.releaseGuest, null, [this.temp(engine.newNumber(id))]);
    }
  }

  // ---------------------------------------------------------------------------
  // Host functions called by the guest

  /**
   * The fast way out: `bridgePrim(id, tags, ...primitives)` (see the kernel).
   * Every argument is read by a conversion to the tagged primitive type, so
   * whatever the guest passes, the host function receives only primitives.
   */
  private onBridgePrim(args: readonly GuestRef[]): GuestRef | undefined {
    try {
      const engine = this.live();
      if (!this.inCall || this.exitCode !== undefined || this.outputExceeded) {
        throw this.guestThrow(engine, "Error", "the sandbox is stopping");
      }
      const [idRef, tagsRef, ...rest] = args;
      const fn = idRef === undefined ? undefined : this.hostFunctions.get(engine.getNumber(idRef));
      if (!fn || tagsRef === undefined || rest.length > 8) throw this.guestThrow(engine, "TypeError", "bad host call");
      let tags = engine.getNumber(tagsRef);
      if (!Number.isInteger(tags) || tags < 0) throw this.guestThrow(engine, "TypeError", "bad host call");
      const argv: unknown[] = [];
      for (const ref of rest) {
        const tag = tags % 4;
        tags = (tags - tag) / 4;
        if (tag === 0) argv.push(engine.getNumber(ref));
        else if (tag === 1) argv.push(engine.getNumber(ref) === 1);
        else if (tag === 2) argv.push(undefined);
        else {
          const text = engine.getString(ref);
          // Cut at NUL or changed by a lone surrogate: refuse rather than pass a different string.
          if (engine.typeOf(ref) !== "string" || text.length !== engine.getNumber(this.temp(engine.getProp(ref, "length"))) || text.includes("\ufffd")) {
            throw this.guestThrow(engine, "TypeError", "bad host call");
          }
          argv.push(text);
        }
      }
      return this.invokeHost(engine, fn, argv);
    } catch (error) {
      if (error instanceof GuestThrow || error instanceof EngineFault) throw error;
      this.options.log(`host call failed inside rexec: ${errorName(error)}`);
      throw this.guestThrow(this.live(), "Error", "host call failed");
    }
  }

  /** The kernel's general way out: `bridge("call", id, json, ...buffers)`. */
  private onBridgeCall(args: readonly GuestRef[]): GuestRef | undefined {
    try {
      return this.bridgeCall(args);
    } catch (error) {
      if (error instanceof GuestThrow || error instanceof EngineFault) throw error;
      // A host-side failure we did not foresee: the guest gets a plain error, never the host object.
      this.options.log(`host call failed inside rexec: ${errorName(error)}`);
      throw this.guestThrow(this.live(), "Error", "host call failed");
    }
  }

  private bridgeCall(args: readonly GuestRef[]): GuestRef | undefined {
    const engine = this.live();
    if (!this.inCall || this.exitCode !== undefined || this.outputExceeded) {
      throw this.guestThrow(engine, "Error", "the sandbox is stopping");
    }
    const [opRef, idRef, ...rest] = args;
    if (!opRef || !idRef || engine.typeOf(opRef) !== "string" || engine.typeOf(idRef) !== "number") {
      throw this.guestThrow(engine, "TypeError", "bad host call");
    }
    const op = engine.getString(opRef);
    const fn = this.hostFunctions.get(engine.getNumber(idRef));
    if (!fn) throw this.guestThrow(engine, "TypeError", "unknown host function");
    const argv = op === "call" ? this.encodedArgs(engine, rest) : undefined;
    if (!argv) throw this.guestThrow(engine, "TypeError", "bad host call");
    return this.invokeHost(engine, fn, argv);
  }

  /** The general path: arguments encoded by the kernel (JSON text plus ArrayBuffers). */
  private encodedArgs(engine: Engine, refs: readonly GuestRef[]): unknown[] | undefined {
    const [jsonRef, ...bufferRefs] = refs;
    if (!jsonRef || engine.typeOf(jsonRef) !== "string") return undefined;
    const limit = this.options.limits.resultBytes;
    if (engine.getNumber(this.temp(engine.getProp(jsonRef, "length"))) > limit) {
      throw this.guestThrow(engine, "RangeError", `arguments are larger than limits.resultBytes (${limit})`);
    }
    let argv: unknown;
    try {
      const buffers = bufferRefs.map((ref) => engine.getArrayBuffer(ref));
      argv = decodeGuestValue(engine.getString(jsonRef), buffers, (gid, name) => this.guestFunction(gid, name), limit);
    } catch (error) {
      if (error instanceof EngineFault || error instanceof GuestThrow) throw error;
      if (error instanceof MemoryLimitError) throw this.guestThrow(engine, "RangeError", `arguments are too large for the host: ${error.message}`);
      throw this.guestThrow(engine, "TypeError", error instanceof CloneError ? error.message : "arguments could not be copied");
    }
    return Array.isArray(argv) ? argv : undefined;
  }

  /** Call a host function with copied arguments; copy its result (or error) back. */
  private invokeHost(engine: Engine, fn: AnyFunction, argv: unknown[]): GuestRef | undefined {
    const name = fn.name || "anonymous";
    if (this.options.verbose) this.options.log(`host call: ${name}(${argv.length} argument${argv.length === 1 ? "" : "s"})`);
    let result: unknown;
    this.budget.pause();
    const scope = openHostCallScope(this);
    try {
      result = runInHostCallScope(scope, () => (fn as (...a: unknown[]) => unknown)(...argv));
    } catch (error) {
      closeHostCallScope(scope);
      this.budget.resume();
      if (this.exitCode !== undefined || this.outputExceeded) throw this.guestThrow(engine, "Error", "the sandbox is stopping");
      this.options.log(`host call: ${name} threw ${errorName(error)}`);
      throw this.hostErrorToGuest(engine, error);
    }
    this.budget.resume();
    if (types.isPromise(result)) {
      // Handled before anything else can throw (the engine may have died
      // inside the host function): its rejection is ours to report, never
      // the process's.
      handled(result);
      return this.hostPromise(engine, name, result, scope);
    }
    // A host-made thenable (never a guest value: guest copies carry no
    // `then` function, see implicit-calls.ts) is adopted like an async result.
    if (isHostThenable(result)) return this.hostPromise(engine, name, handled(Promise.resolve(result)), scope);
    closeHostCallScope(scope);
    // Fast path for primitive results the engine can take as they are.
    if (typeof result === "number") return engine.newNumber(result);
    if (result === undefined) return undefined;
    if (typeof result === "string" && result.length <= 4096 && !UNSAFE_FOR_ENGINE_STRING.test(result)) return engine.newString(result);
    try {
      return this.copyIn(engine, result);
    } catch (error) {
      if (error instanceof CloneError) throw this.guestThrow(engine, "TypeError", `host function ${name} returned ${error.message.replace(/^cannot copy /, "")}`);
      throw error;
    }
  }

  /** A guest promise settled (inside a later budget) when the host promise settles. */
  private hostPromise(engine: Engine, name: string, promise: Promise<unknown>, scope: HostCallScope): GuestRef {
    this.liveHostScopes.add(scope);
    const deferred = engine.newPromise();
    this.pendingHostCalls++;
    const settleWith = (apply: (engine: Engine) => void) => {
      closeHostCallScope(scope);
      this.liveHostScopes.delete(scope);
      this.pendingHostCalls--;
      this.settlements.push(() => {
        const live = this.engine;
        if (!live?.alive) return;
        try {
          apply(live);
        } catch (error) {
          if (error instanceof EngineFault) throw error;
          // The guest-side decode failed (e.g. out of memory): reject with a plain error.
          if (error instanceof GuestThrow) deferred.reject(error.value);
          else deferred.reject(this.makeGuestError(live, "TypeError", error instanceof CloneError ? error.message : "host result could not be copied"));
        }
      });
      this.wake?.();
    };
    // The derived promise is handled too: a throwing logger must not end the host.
    handled(Promise.prototype.then.call(
      promise,
      (value) => settleWith((live) => deferred.resolve(this.copyIn(live, value))),
      (error) => {
        this.options.log(`host call: ${name} rejected with ${errorName(error)}`);
        settleWith((live) => deferred.reject(this.hostErrorValue(live, error)));
      },
    ) as Promise<unknown>);
    return deferred.promise;
  }

  private hostErrorValue(engine: Engine, error: unknown): GuestRef {
    const { name, message } = describeHostError(error);
    return this.makeGuestError(engine, name, message);
  }

  private hostErrorToGuest(engine: Engine, error: unknown): GuestThrow {
    return new GuestThrow(this.hostErrorValue(engine, error));
  }

  private makeGuestError(engine: Engine, name: string, message: string): GuestRef {
    return engine.call(this.kernel.makeError, null, [this.temp(engine.newString(name)), this.temp(engine.newString(message))]);
  }

  private guestThrow(engine: Engine, name: string, message: string): GuestThrow {
    return new GuestThrow(this.makeGuestError(engine, name, message));
  }

  // ---------------------------------------------------------------------------
  // Services for the host API

  /** Define a global in the guest: a copy of `value` (functions become host-function wrappers). */
  defineGlobal(name: string, value: unknown): Promise<void> {
    return this.run((engine) => {
      const encoded = encodeHostValue(value, (fn) => this.registerHostFunction(fn));
      const args = [this.temp(engine.newString(name)), this.temp(engine.newString(encoded.json))];
      for (const bytes of encoded.buffers) args.push(this.temp(engine.newArrayBuffer(bytes)));
      return engine.call(this.kernel.defineGlobal, null, args);
    }, () => {}, false, SETUP_BUDGET_MS) as Promise<void>;
  }

  /**
   * Evaluate trusted setup code (a prelude) that evaluates to a function, and
   * call it with a copy of `arg`. Used by the host API to install console/process.
   */
  installPrelude(source: string, fileName: string, arg: unknown): Promise<void> {
    return this.run((engine) => {
      const fn = this.temp(engine.evalScript(source, fileName));
      return engine.call(fn, null, [this.copyIn(engine, arg)]);
    }, () => {}, false, SETUP_BUDGET_MS) as Promise<void>;
  }

  /**
   * Install trusted guest code that needs raw access to the engine (the module
   * runtime): `source` evaluates to a function, called with one native function
   * whose arguments arrive as refs. Returns refs to the named methods of what it
   * returns. The native runs inside calls only, under the call's budget.
   */
  installRaw(source: string, fileName: string, native: RawNative, methods: readonly string[]): Promise<Record<string, GuestRef>> {
    let refs: Record<string, GuestRef> = {};
    return this.run((engine) => {
      refs = this.installRawNow(engine, source, fileName, native, methods);
      return engine.undefinedRef();
    }, () => {}, false, SETUP_BUDGET_MS).then(() => refs);
  }

  /** {@link installRaw} from inside a running call (e.g. on first use, from a module callback). */
  installRawNow(engine: Engine, source: string, fileName: string, native: RawNative, methods: readonly string[]): Record<string, GuestRef> {
    const refs: Record<string, GuestRef> = {};
    const fn = this.temp(engine.evalScript(source, fileName));
    const nativeRef = this.temp(
      engine.newFunction("native", (args) => {
        if (!this.inCall) throw this.guestThrow(engine, "Error", "the sandbox is not running");
        return native(engine, args);
      }),
    );
    const api = this.temp(engine.call(fn, null, [nativeRef]));
    for (const name of methods) refs[name] = engine.getProp(api, name); // kept for the realm's life
    return refs;
  }

  /** Answer the engine's ES module requests (synchronously, inside calls). */
  setModuleLoader(loader: EngineModuleLoader): void {
    this.live().setModuleLoader(loader);
  }

  /** The engine, for code running inside a call (natives, module callbacks). */
  engineForCall(): Engine {
    if (!this.inCall) throw new RExecError("rexec internal error: the engine was used outside a call");
    return this.live();
  }

  /** Copy a host value into the guest during a call; the ref lives until the call ends. */
  copyInto(engine: Engine, value: unknown): GuestRef {
    return this.copyIn(engine, value);
  }

  /** A guest error to throw from a native: `throw realm.throwable(engine, "TypeError", "…")`. */
  throwable(engine: Engine, name: string, message: string): GuestThrow {
    return this.guestThrow(engine, name, message);
  }

  /** Track a ref so it is freed when the current call ends. */
  track(ref: GuestRef): GuestRef {
    return this.temp(ref);
  }

  /** The guest wrote `text` to a stream: counted against `outputBytes`, then sent to the call's sink. */
  write(stream: "stdout" | "stderr", text: string): void {
    if (this.outputExceeded) throw new OutputLimitError(this.options.limits.outputBytes);
    const bytes = Buffer.byteLength(text);
    if (this.outputUsed + bytes > this.options.limits.outputBytes) {
      this.outputExceeded = true;
      this.budget.stopRequested = true;
      throw new OutputLimitError(this.options.limits.outputBytes);
    }
    this.outputUsed += bytes;
    this.outputSink(stream, text);
  }

  // --- native-poll hook (owned by the CPU-shapes work; see native-guards.js) ---
  /**
   * Called by guarded natives after each potentially long native call: the
   * engine's very next poll calls the interrupt handler (which checks the
   * deadline and re-paces the polls) instead of its next scheduled one.
   * Returns true when the budget is spent, so that a guard on an engine build
   * without poll pacing can spin in bytecode until the handler stops it.
   */
  pollNative(): boolean {
    const engine = this.engine;
    if (!this.inCall || !engine?.alive) return false;
    engine.pollSoon();
    return this.budget.exhausted;
  }
  // --- end native-poll hook ---

  /** The guest called exit: stop it at the next poll and report SystemExit. */
  requestExit(code: number): void {
    if (this.exitCode === undefined) {
      this.exitCode = code;
      this.options.log(`exit: guest called exit(${code})`);
    }
    this.budget.stopRequested = true;
  }

  private kill(fault: EngineFault): void {
    if (!this.disposeRequested) this.deathReason = `the engine failed: ${fault.message}`;
    this.options.log(`engine fault: ${fault.message}; sandbox disposed`);
    this.engine = undefined;
  }

  /** Free the engine and everything in it. Idempotent. */
  dispose(): void {
    this.deathReason ??= "dispose() was called";
    this.settlements.length = 0;
    if (this.inCall) {
      // Called from inside the running call (a host function, an output sink,
      // a logger, a hook): the engine is still on the stack below us. Freeing
      // it now would leave the call to touch freed memory; instead the guest
      // is stopped at its next poll, the call ends with DisposedError, and the
      // engine is freed when the call has unwound (runNow's finally).
      this.disposeRequested = true;
      this.budget.stopRequested = true;
      this.wake?.();
      return;
    }
    const engine = this.engine;
    this.engine = undefined;
    this.wake?.();
    if (engine?.alive) engine.dispose();
  }
}

const NOT_PRIMITIVE = Symbol("not a primitive");

/**
 * Fast path out: numbers, booleans and undefined need no codec (strings do:
 * the engine's string read is lossy for lone surrogates and stops at NUL).
 */
function primitiveOf(engine: Engine, ref: GuestRef, type: string): unknown {
  switch (type) {
    case "number":
      return engine.getNumber(ref);
    case "boolean":
      return engine.getNumber(ref) === 1;
    case "undefined":
      return undefined;
    default:
      return NOT_PRIMITIVE;
  }
}

/** A value the engine can take as it is (see the kernel's isPlainPrimitive). */
function isEnginePrimitive(value: unknown): boolean {
  return value === undefined || typeof value === "number" || (typeof value === "string" && value.length <= 4096 && !UNSAFE_FOR_ENGINE_STRING.test(value));
}

function isHostThenable(value: unknown): value is PromiseLike<unknown> {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  try {
    return typeof (value as { then?: unknown }).then === "function";
  } catch {
    return false;
  }
}

/**
 * Name and message of whatever a host function threw, read without running
 * any code of the thrown value (no toString, no getters beyond the two reads).
 */
function describeHostError(error: unknown): { name: string; message: string } {
  if (typeof error === "string") return { name: "Error", message: error };
  if (typeof error !== "object" || error === null) return { name: "Error", message: "host function failed" };
  let name: unknown;
  let message: unknown;
  try {
    name = (error as { name?: unknown }).name;
    message = (error as { message?: unknown }).message;
  } catch {
    return { name: "Error", message: "host function failed" };
  }
  return {
    name: typeof name === "string" && /^[\w$.]{1,64}$/.test(name) ? name : "Error",
    message: typeof message === "string" ? message : "host function failed",
  };
}

function errorName(error: unknown): string {
  return describeHostError(error).name;
}
