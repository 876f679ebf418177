/**
 * The state a guest realm's parts share: its engine, kernel, budget, host
 * function table and the running call's state.
 *
 * Invariant: every field that more than one part of the realm reads or
 * mutates (the call driver in realm.ts, host calls, guest calls, failure
 * handling, copying) lives here, in one place, so that a stop (exit, output
 * cap, dispose) set by one part is seen by all of them, and every ref a call
 * creates is owned by that call and freed when it ends.
 *
 * The kernel (guest/kernel.js) is installed before any guest code runs; its
 * refs are kept for the realm's life.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import type { Engine, GuestRef } from "../engine/engine.js";
import { GuestThrow } from "../engine/engine.js";
import { DisposedError, OutputLimitError, SystemExit, TimeoutError } from "../host/errors.js";
import type { CpuBudget } from "./cpu-budget.js";
import type { OutputSink, RealmOptions } from "./realm.js";

export type AnyFunction = (...args: never[]) => unknown;

const KERNEL_SOURCE = readFileSync(new URL("./guest/kernel.js", import.meta.url), "utf8");
const KERNEL_FILE = "<rexec:kernel>";

export interface KernelRefs {
  readonly encode: GuestRef;
  readonly decode: GuestRef;
  readonly callGuest: GuestRef;
  readonly callGuestPrim: GuestRef;
  readonly releaseGuest: GuestRef;
  readonly makeError: GuestRef;
  readonly defineGlobal: GuestRef;
  readonly isPromise: GuestRef;
  readonly bjsonSafe: GuestRef;
  readonly bjsonProbe: GuestRef;
  readonly callGuestWith: GuestRef;
  readonly defineGlobalValue: GuestRef;
  readonly setEncodeLimit: GuestRef;
}

/** The two ways out of the kernel: its general `bridge` and the fast `bridgePrim`. */
export interface KernelBridges {
  readonly bridge: (args: readonly GuestRef[]) => GuestRef | undefined;
  readonly bridgePrim: (args: readonly GuestRef[]) => GuestRef | undefined;
}

/** Slot names of the kernel's two host functions in realm images. */
export const KERNEL_SLOTS = { bridge: "kernel.bridge", bridgePrim: "kernel.bridgePrim" } as const;

/** Install the guest kernel; runs before any guest code (under the caller's budget). */
export function installKernel(engine: Engine, resultBytes: number, bridges: KernelBridges): KernelRefs {
  const factory = engine.evalScript(KERNEL_SOURCE, KERNEL_FILE);
  // Slots: a realm image binds them to each tenant's own bridges (realm-image.ts).
  const bridge = engine.newFunction("bridge", bridges.bridge, KERNEL_SLOTS.bridge);
  const bridgePrim = engine.newFunction("bridgePrim", bridges.bridgePrim, KERNEL_SLOTS.bridgePrim);
  const limit = engine.newNumber(resultBytes);
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
    bjsonSafe: get("bjsonSafe"),
    bjsonProbe: get("bjsonProbe"),
    callGuestWith: get("callGuestWith"),
    defineGlobalValue: get("defineGlobalValue"),
    setEncodeLimit: get("setEncodeLimit"),
  };
  for (const ref of [factory, bridge, bridgePrim, limit, api]) engine.free(ref);
  return refs;
}

/** Shared state of one realm (see the invariant above); owned by its {@link GuestRealm}. */
export class RealmCore {
  engine: Engine | undefined;
  readonly hostFunctions = new Map<number, AnyFunction>();
  private readonly hostFunctionIds = new Map<AnyFunction, number>();
  /** Host promise settlements waiting to be applied inside a call's budget. */
  readonly settlements: Array<() => void> = [];
  pendingHostCalls = 0;
  wake: (() => void) | undefined;
  deathReason: string | undefined;

  // Per-call state.
  outputSink: OutputSink = () => {};
  outputUsed = 0;
  outputExceeded = false;
  exitCode: number | undefined;
  callRefs: GuestRef[] = [];
  inCall = false;
  wallDeadline = Infinity;
  /** dispose() was called during the running call; the engine is freed when it ends. */
  disposeRequested = false;
  /** The engine's refused heap growths when the running call started (see classify). */
  refusedGrowthsAtStart = 0;
  /** CPU of the running call already closed off by side budgets (see openSideBudget). */
  bankedCpuMs = 0;

  constructor(
    engine: Engine,
    readonly budget: CpuBudget,
    public options: RealmOptions,
    readonly kernel: KernelRefs,
  ) {
    this.engine = engine;
  }

  live(): Engine {
    const engine = this.engine;
    if (!engine || !engine.alive || this.disposeRequested) {
      throw new DisposedError(this.deathReason ?? "dispose() was called");
    }
    return engine;
  }

  temp(ref: GuestRef): GuestRef {
    this.callRefs.push(ref);
    return ref;
  }

  freeCallRefs(): void {
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

  applySettlements(): void {
    while (this.settlements.length > 0) this.settlements.shift()!();
  }

  /** The guest is being stopped (exit or output cap): no host function may start now. */
  get stopping(): boolean {
    return this.exitCode !== undefined || this.outputExceeded;
  }

  /** Raise the limit or exit that stopped the guest, if any. */
  checkStops(): void {
    if (this.disposeRequested) throw new DisposedError(this.deathReason ?? "dispose() was called");
    if (this.exitCode !== undefined) throw new SystemExit(this.exitCode);
    if (this.outputExceeded) throw new OutputLimitError(this.options.limits.outputBytes);
    if (this.budget.expired) throw new TimeoutError(this.options.limits.timeoutMs);
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

  /** The guest called exit: stop it at the next poll and report SystemExit. */
  requestExit(code: number): void {
    if (this.exitCode === undefined) {
      this.exitCode = code;
      this.options.log(`exit: guest called exit(${code})`);
    }
    this.budget.stopRequested = true;
  }

  registerHostFunction(fn: AnyFunction): number {
    let id = this.hostFunctionIds.get(fn);
    if (id === undefined) {
      id = this.hostFunctions.size + 1;
      this.hostFunctions.set(id, fn);
      this.hostFunctionIds.set(fn, id);
    }
    return id;
  }

  makeGuestError(engine: Engine, name: string, message: string): GuestRef {
    return engine.call(this.kernel.makeError, null, [this.temp(engine.newString(name)), this.temp(engine.newString(message))]);
  }

  guestThrow(engine: Engine, name: string, message: string): GuestThrow {
    return new GuestThrow(this.makeGuestError(engine, name, message));
  }
}
