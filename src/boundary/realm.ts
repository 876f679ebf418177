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
 * This file holds the realm's lifecycle and the call driver; its parts are
 * realm-core.ts (shared state, kernel), realm-copy.ts (copying both ways),
 * realm-host-calls.ts (host functions called by the guest),
 * realm-guest-calls.ts (guest functions called by the host) and
 * realm-failures.ts (how a failed or stopped call ends).
 *
 * @packageDocumentation
 */
import type { Engine, EngineModuleLoader, GuestRef } from "../engine/engine.js";
import { GuestThrow } from "../engine/engine.js";
import type { HostCallback } from "../engine/engine.js";
import { adoptImage, createQuickJSEngine, deriveImageFacts, engineFromImage, QuickJSEngine, wasmPagesFor } from "../engine/engine-factory.js";
import { ENGINE_VARIANT, type EngineVariantName } from "../engine/wasm-variant.js";
import type { EngineImage } from "../engine/engine-image.js";
import { returnInstance, takeInstance } from "../engine/instance-pool.js";
import { beginRealmImage, forgetRealmImage, hostFunctionsOf, realmImageFor, storedRealmImage, type RealmImage, type RealmSetup } from "./realm-image.js";
import { RExecError } from "../host/errors.js";
import { CpuBudget } from "./cpu-budget.js";
import { installKernel, KERNEL_SLOTS, RealmCore, type KernelBridges, type KernelRefs } from "./realm-core.js";
import { NOT_PRIMITIVE, primitiveOf, RealmCopy } from "./realm-copy.js";
import { RealmFailures } from "./realm-failures.js";
import { CallDriver } from "./realm-driver.js";
import { GuestCalls } from "./realm-guest-calls.js";
import { HostCalls } from "./realm-host-calls.js";

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

/**
 * CPU budget of setup calls (prelude, module runtime, copying the host's
 * globals in): they run before any guest code, so only rexec's own code and
 * the host's data decide how long they take.
 */
const SETUP_BUDGET_MS = 60_000;

/** Slot-name prefix of the engine functions of raw installs in realm images. */
const RAW_SLOT = "raw:";

/** A guest realm: one engine, its kernel, its host functions and its limits. */
export class GuestRealm {
  /** State shared by the realm's parts (see realm-core.ts). */
  private readonly core: RealmCore;
  private readonly copy: RealmCopy;
  private readonly guestCalls: GuestCalls;
  private readonly hostCalls: HostCalls;
  private readonly failures: RealmFailures;
  private readonly driver: CallDriver;
  /** Serialises calls: a realm runs one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  /** CPU milliseconds charged to the guest by the most recent call. */
  lastCallCpuMs = 0;

  /** Binding mode: this realm was restored from an image and its set-up only binds (realm-image.ts). */
  private binding: RealmImage | undefined;
  /** Image building: what the set-up installs is recorded for the image. */
  private building: { rawRefs: Map<string, Record<string, GuestRef>>; valid: boolean } | undefined;
  /** Natives installed with {@link installRaw}, by file name (their engine functions call them by slot). */
  private readonly rawNatives = new Map<string, RawNative>();
  /** The image whose instance this realm's engine hands back to the pool at dispose. */
  private imageOfEngine: EngineImage | undefined;

  private constructor(engine: Engine, budget: CpuBudget, options: RealmOptions, restoredKernel?: KernelRefs) {
    let kernel = restoredKernel;
    if (!kernel) {
      budget.begin(Math.max(options.limits.timeoutMs, 1000));
      try {
        kernel = installKernel(engine, options.limits.resultBytes, this.bridges());
      } finally {
        budget.end();
      }
    }
    const core = new RealmCore(engine, budget, options, kernel);
    const guestFunction = (id: number, name: string) => this.guestCalls.guestFunction(id, name);
    this.core = core;
    this.copy = new RealmCopy(core, guestFunction);
    this.guestCalls = new GuestCalls(core, this.copy, {
      owner: this,
      runQueued: (enter) => this.run(enter, this.defaultSink),
      mapError: (error) => this.errorMapper(error),
    });
    this.hostCalls = new HostCalls(core, this.copy, guestFunction, this);
    this.failures = new RealmFailures(core, this.copy, () => this.dispose());
    this.driver = new CallDriver(core, this.guestCalls);
  }

  /** The kernel's two ways out, answered by this realm. */
  private bridges(): KernelBridges {
    return {
      bridge: (args) => this.hostCalls.onBridgeCall(args),
      bridgePrim: (args) => this.hostCalls.onBridgePrim(args),
    };
  }

  /**
   * A realm set up by `setup`: restored from the setup's realm image when
   * images are available (built on first use), else created fresh and set up
   * by evaluating. Either way `setup.install` has run when this resolves.
   */
  static async createWithSetup(options: RealmOptions, setup: RealmSetup): Promise<GuestRealm> {
    const variant = options.variant ?? ENGINE_VARIANT;
    let known = realmImageFor(variant, setup);
    const fromStore = known === undefined ? storedRealmImage(variant, setup) : undefined;
    let stored: RealmImage | undefined;
    if (fromStore) {
      stored = await fromStore;
      // Another sandbox may have begun building this image meanwhile.
      known = stored ? Promise.resolve(stored) : realmImageFor(variant, setup);
    }
    if (known === undefined) return GuestRealm.createAndCapture(options, setup, variant);
    const image = await known;
    if (!image) return GuestRealm.createFreshWithSetup(options, setup);
    if (image !== stored) return GuestRealm.restoreWithSetup(image, options, setup);
    try {
      return await GuestRealm.restoreWithSetup(image, options, setup);
    } catch (error) {
      // An image another process stored that does not fit this one (checked, so
      // only if its set-up differs in a way the key missed): never again in this
      // process; this sandbox is set up by evaluating, as without a store.
      forgetRealmImage(variant, setup);
      options.log(`realm image from the store not used (${error instanceof Error ? error.message.slice(0, 200) : "it failed"}); setting up by evaluating`);
      return GuestRealm.createFreshWithSetup(options, setup);
    }
  }

  /** A fresh realm set up by evaluating (no image). */
  private static async createFreshWithSetup(options: RealmOptions, setup: RealmSetup): Promise<GuestRealm> {
    const realm = await GuestRealm.create(options);
    await setup.install(realm);
    return realm;
  }

  /** A realm restored from `image`, its set-up re-run in binding mode, checked against the image. */
  private static async restoreWithSetup(image: RealmImage, options: RealmOptions, setup: RealmSetup): Promise<GuestRealm> {
    const realm = await GuestRealm.fromImage(image, options);
    try {
      realm.binding = image;
      try {
        await setup.install(realm);
      } finally {
        realm.binding = undefined;
      }
      if (realm.core.hostFunctions.size !== image.hostFunctionCount) throw new RExecError("rexec internal error: a realm's set-up did not match its image");
      if (options.limits.resultBytes !== image.resultBytes) {
        await realm.run((engine) => engine.call(realm.core.kernel.setEncodeLimit, null, [realm.core.temp(engine.newNumber(options.limits.resultBytes))]), () => {}, false, SETUP_BUDGET_MS);
      }
      return realm;
    } catch (error) {
      realm.dispose();
      throw error;
    }
  }

  /**
   * The first sandbox of a configuration: a fresh realm, set up by evaluating,
   * captured as the configuration's image right after its set-up (before any
   * of its own code runs), then handed to its sandbox. So a configuration used
   * once costs no more than a fresh realm, and later ones restore the image.
   */
  private static async createAndCapture(options: RealmOptions, setup: RealmSetup, variant: EngineVariantName): Promise<GuestRealm> {
    const pending = beginRealmImage(variant, setup);
    let image: RealmImage | undefined;
    try {
      const imageable = await deriveImageFacts(variant);
      const realm = await GuestRealm.createFresh(options);
      realm.building = { rawRefs: new Map(), valid: true };
      try {
        await setup.install(realm);
      } catch (error) {
        realm.dispose();
        throw error;
      } finally {
        const building = realm.building;
        realm.building = undefined;
        const engine = realm.core.engine;
        if (imageable && building?.valid && engine instanceof QuickJSEngine && engine.alive) {
          const captured = engine.captureImage();
          if (captured) image = { engine: captured, kernel: realm.core.kernel, hostFunctionCount: realm.core.hostFunctions.size, rawRefs: building.rawRefs, resultBytes: options.limits.resultBytes };
        }
      }
      // Its instance is handed back to the image's pool when it ends, like any restored one.
      if (image) realm.imageOfEngine = image.engine;
      return realm;
    } finally {
      pending.settle(image);
    }
  }

  /** A realm whose engine is restored from `image` (in a recycled instance when one is idle). */
  private static async fromImage(image: RealmImage, options: RealmOptions): Promise<GuestRealm> {
    const budget = new CpuBudget();
    let realm: GuestRealm | undefined;
    const bindings = new Map<string, HostCallback>([
      [KERNEL_SLOTS.bridge, (args) => realm!.hostCalls.onBridgeCall(args)],
      [KERNEL_SLOTS.bridgePrim, (args) => realm!.hostCalls.onBridgePrim(args)],
    ]);
    for (const slot of image.engine.state.slots.keys()) {
      if (slot.startsWith(RAW_SLOT)) bindings.set(slot, (args) => realm!.callRawNative(slot.slice(RAW_SLOT.length), args));
    }
    const engineOptions = {
      memoryBytes: options.limits.memoryBytes,
      stackBytes: options.limits.stackBytes,
      shouldInterrupt: budget.shouldInterrupt,
      variant: options.variant,
      log: (line: string) => (realm?.core.options ?? options).log(`engine: ${line}`),
    };
    const instance = takeInstance(image.engine, wasmPagesFor(options.limits.memoryBytes));
    const engine = instance ? adoptImage(image.engine, engineOptions, bindings, instance) : await engineFromImage(image.engine, engineOptions, bindings);
    realm = new GuestRealm(engine, budget, options, image.kernel);
    realm.imageOfEngine = image.engine;
    return realm;
  }

  /** A raw native called by its engine function (bound by slot; see {@link installRaw}). */
  private callRawNative(fileName: string, args: readonly GuestRef[]): GuestRef | undefined {
    const core = this.core;
    const engine = core.live();
    if (!core.inCall) throw core.guestThrow(engine, "Error", "the sandbox is not running");
    const native = this.rawNatives.get(fileName);
    if (!native) throw core.guestThrow(engine, "Error", "this native is not available");
    return native(engine, args);
  }

  /** Create a realm with its own engine and kernel. */
  static async create(options: RealmOptions): Promise<GuestRealm> {
    return GuestRealm.createFresh(options);
  }

  /** A new realm with a fresh engine (no image). */
  static async createFresh(options: RealmOptions): Promise<GuestRealm> {
    const budget = new CpuBudget();
    let realm: GuestRealm | undefined;
    const engine = await createQuickJSEngine({
      memoryBytes: options.limits.memoryBytes,
      stackBytes: options.limits.stackBytes,
      shouldInterrupt: budget.shouldInterrupt,
      variant: options.variant,
      log: (line) => (realm?.core.options ?? options).log(`engine: ${line}`),
    });
    realm = new GuestRealm(engine, budget, options);
    return realm;
  }

  /** True until disposed or killed by an engine fault. */
  get alive(): boolean {
    return this.core.engine?.alive === true;
  }

  /** Bytes of wasm memory the realm uses now (its high-water mark: wasm memory never shrinks). */
  get heapBytes(): number {
    return this.core.engine?.heapBytes ?? 0;
  }

  // ---------------------------------------------------------------------------
  // Calls

  /**
   * Run one call: `enter` starts guest work and returns a guest value; a guest
   * promise is driven to settlement; the result is copied out unless
   * `copyResult` is false. Limits apply from start to finish.
   */
  run(enter: (engine: Engine) => GuestRef, output: OutputSink, copyResult = true, budgetMs = this.core.options.limits.timeoutMs, untilIdle = false): Promise<unknown> {
    const next = this.queue.then(() => this.runNow(enter, output, copyResult, budgetMs, untilIdle));
    this.queue = next.catch(() => {});
    return next;
  }

  private async runNow(enter: (engine: Engine) => GuestRef, output: OutputSink, copyResult: boolean, budgetMs: number, untilIdle: boolean): Promise<unknown> {
    const core = this.core;
    const engine = core.live();
    core.wallDeadline = performance.now() + core.options.limits.wallTimeMs;
    core.outputSink = output;
    core.outputUsed = 0;
    core.outputExceeded = false;
    core.exitCode = undefined;
    core.inCall = true;
    core.bankedCpuMs = 0;
    core.refusedGrowthsAtStart = engine.refusedHeapGrowths;
    core.budget.begin(budgetMs);
    try {
      this.guestCalls.releaseCollectedGuestFunctions(engine);
      core.applySettlements();
      let result = core.temp(enter(engine));
      this.driver.drainJobs(engine);
      let type = engine.typeOf(result);
      if (type === "object" && engine.isPromise(result)) {
        result = await this.driver.settle(engine, result);
        type = engine.typeOf(result);
      }
      // Like a script run by Node: wait for the host calls and timers it started.
      if (untilIdle) await this.driver.idle(engine);
      core.checkStops();
      // Like Node: a guest rejection still unhandled once the call's jobs are drained
      // fails the call with its reason (the first one; see engine/rejection-tracker.ts).
      const [unhandled] = engine.takeUnhandledRejections(1);
      if (unhandled !== undefined) throw new GuestThrow(core.temp(unhandled));
      if (!copyResult) return undefined;
      const primitive = primitiveOf(engine, result, type);
      if (primitive !== NOT_PRIMITIVE) return primitive; // no guest code ran while copying
      const value = this.copy.copyOut(engine, result);
      // Getters run while copying may have queued jobs: they belong to this call.
      this.driver.drainJobs(engine);
      core.checkStops();
      return value;
    } catch (error) {
      throw this.errorMapper(this.failures.discardLeftoverJobs(this.failures.classify(error)));
    } finally {
      const spent = core.bankedCpuMs + core.budget.end();
      this.lastCallCpuMs = spent;
      core.inCall = false;
      // A call that failed otherwise (or whose result getters rejected) leaves its
      // unhandled rejections here: they must not fail the next call.
      if (core.engine?.alive) core.engine.takeUnhandledRejections(0);
      // A host function still running after its call ended acts for nobody: its callbacks are independent calls now.
      this.hostCalls.closeScopes();
      // Guest promises handed to host code by nested calls cannot settle once the call is over.
      this.guestCalls.rejectNestedWaits();
      core.outputSink = () => {};
      core.freeCallRefs();
      if (core.disposeRequested) {
        core.disposeRequested = false;
        this.dispose(); // no longer in a call: frees the engine now
      }
      if (spent > core.options.limits.timeoutMs) core.options.log(`call used ${spent.toFixed(1)} ms of CPU`);
    }
  }

  /** Applied to every error a call ends with (set by the host API: e.g. source-mapping TypeScript frames). */
  errorMapper: (error: Error) => Error = (error) => error;

  /** Output sink used by guest functions called from the host (set by the host API). */
  defaultSink: OutputSink = () => {};

  // ---------------------------------------------------------------------------
  // Services for the host API

  /** Define a global in the guest: a copy of `value` (functions become host-function wrappers). */
  defineGlobal(name: string, value: unknown): Promise<void> {
    const core = this.core;
    return this.run((engine) => {
      return engine.call(core.kernel.defineGlobalValue, null, [core.temp(engine.newString(name)), this.copy.copyIn(engine, value)]);
    }, () => {}, false, SETUP_BUDGET_MS) as Promise<void>;
  }

  /**
   * Evaluate trusted setup code (a prelude) that evaluates to a function, and
   * call it with a copy of `arg`. Used by the host API to install console/process.
   */
  installPrelude(source: string, fileName: string, arg: unknown): Promise<void> {
    const core = this.core;
    const functions = hostFunctionsOf(arg);
    if (this.binding) {
      // Restored from an image: the prelude is in it; only its host functions are bound, in the builder's order.
      for (const fn of functions) core.registerHostFunction(fn);
      return Promise.resolve();
    }
    const before = core.hostFunctions.size;
    const done = this.run((engine) => {
      const fn = core.temp(engine.evalScript(source, fileName));
      return engine.call(fn, null, [this.copy.copyIn(engine, arg, true)]);
    }, () => {}, false, SETUP_BUDGET_MS) as Promise<void>;
    return done.then(() => {
      // The image binds tenants by position: the copy must have registered exactly the canonical order.
      const building = this.building;
      if (!building) return;
      if (core.hostFunctions.size !== before + functions.length) building.valid = false;
      functions.forEach((fn, i) => {
        if (core.hostFunctions.get(before + i + 1) !== fn) building.valid = false;
      });
    });
  }

  /**
   * Install trusted guest code that needs raw access to the engine (the module
   * runtime): `source` evaluates to a function, called with one native function
   * whose arguments arrive as refs. Returns refs to the named methods of what it
   * returns. The native runs inside calls only, under the call's budget.
   */
  installRaw(source: string, fileName: string, native: RawNative, methods: readonly string[]): Promise<Record<string, GuestRef>> {
    this.rawNatives.set(fileName, native);
    if (this.binding) return Promise.resolve({ ...(this.binding.rawRefs.get(fileName) ?? {}) });
    if (this.building) {
      // In an image: its engine function reaches the native by slot, so each tenant binds its own.
      const building = this.building;
      return this.run((engine) => {
        const fn = this.core.temp(engine.evalScript(source, fileName));
        const nativeRef = this.core.temp(engine.newFunction("native", (args) => this.callRawNative(fileName, args), RAW_SLOT + fileName));
        const api = this.core.temp(engine.call(fn, null, [nativeRef]));
        const refs: Record<string, GuestRef> = {};
        for (const name of methods) refs[name] = engine.getProp(api, name); // kept for the realm's life
        building.rawRefs.set(fileName, refs);
        return engine.undefinedRef();
      }, () => {}, false, SETUP_BUDGET_MS).then(() => ({ ...building.rawRefs.get(fileName)! }));
    }
    let refs: Record<string, GuestRef> = {};
    return this.run((engine) => {
      refs = this.installRawNow(engine, source, fileName, native, methods);
      return engine.undefinedRef();
    }, () => {}, false, SETUP_BUDGET_MS).then(() => refs);
  }

  /** {@link installRaw} from inside a running call (e.g. on first use, from a module callback). */
  installRawNow(engine: Engine, source: string, fileName: string, native: RawNative, methods: readonly string[]): Record<string, GuestRef> {
    const core = this.core;
    const refs: Record<string, GuestRef> = {};
    const fn = core.temp(engine.evalScript(source, fileName));
    const nativeRef = core.temp(
      engine.newFunction("native", (args) => {
        if (!core.inCall) throw core.guestThrow(engine, "Error", "the sandbox is not running");
        return native(engine, args);
      }),
    );
    const api = core.temp(engine.call(fn, null, [nativeRef]));
    for (const name of methods) refs[name] = engine.getProp(api, name); // kept for the realm's life
    return refs;
  }

  /** Answer the engine's ES module requests (synchronously, inside calls). */
  setModuleLoader(loader: EngineModuleLoader): void {
    this.core.live().setModuleLoader(loader);
  }

  /** The engine, for code running inside a call (natives, module callbacks). */
  engineForCall(): Engine {
    if (!this.core.inCall) throw new RExecError("rexec internal error: the engine was used outside a call");
    return this.core.live();
  }

  /** Copy a host value into the guest during a call; the ref lives until the call ends. */
  copyInto(engine: Engine, value: unknown): GuestRef {
    return this.copy.copyIn(engine, value);
  }

  /** A guest error to throw from a native: `throw realm.throwable(engine, "TypeError", "…")`. */
  throwable(engine: Engine, name: string, message: string): GuestThrow {
    return this.core.guestThrow(engine, name, message);
  }

  /** Track a ref so it is freed when the current call ends. */
  track(ref: GuestRef): GuestRef {
    return this.core.temp(ref);
  }

  /** The guest wrote `text` to a stream: counted against `outputBytes`, then sent to the call's sink. */
  write(stream: "stdout" | "stderr", text: string): void {
    this.core.write(stream, text);
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
    const engine = this.core.engine;
    if (!this.core.inCall || !engine?.alive) return false;
    engine.pollSoon();
    return this.core.budget.exhausted;
  }
  // --- end native-poll hook ---

  /**
   * End the running call's wait for host work (a timer, an async host
   * function) now, failing it, instead of when that work ends — per-call
   * cancellation (host/call-abort.ts), after it asked the guest to stop.
   * The failure applies only while `isCurrent()` says the aborted call is
   * still the one running, so a leftover never fails a later call.
   */
  failWaitingCall(isCurrent: () => boolean): void {
    const core = this.core;
    if (!core.inCall) return;
    core.settlements.push(() => {
      if (isCurrent()) throw new RExecError("the call was aborted");
    });
    core.wake?.();
  }

  /** The guest called exit: stop it at the next poll and report SystemExit. */
  requestExit(code: number): void {
    this.core.requestExit(code);
  }

  /** Free the engine and everything in it. Idempotent. */
  dispose(): void {
    const core = this.core;
    core.deathReason ??= "dispose() was called";
    core.settlements.length = 0;
    if (core.inCall) {
      // Called from inside the running call (a host function, an output sink,
      // a logger, a hook): the engine is still on the stack below us. Freeing
      // it now would leave the call to touch freed memory; instead the guest
      // is stopped at its next poll, the call ends with DisposedError, and the
      // engine is freed when the call has unwound (runNow's finally).
      core.disposeRequested = true;
      core.budget.stopRequested = true;
      core.wake?.();
      return;
    }
    const engine = core.engine;
    core.engine = undefined;
    core.wake?.();
    if (!engine?.alive) return;
    const image = this.imageOfEngine;
    // From an image: the instance is scrubbed and kept for the next sandbox (engine/instance-pool.ts).
    if (image && engine instanceof QuickJSEngine) engine.dispose((instance) => returnInstance(image, instance));
    else engine.dispose();
  }
}
