/**
 * Guest functions called by the host: the host-side wrappers of guest
 * functions, nested (re-entrant) guest calls, and the release of guest
 * functions whose wrapper the host dropped.
 *
 * Invariant: a guest function called by the host runs under the limits like
 * any call — queued behind the running call, or, when called by a host
 * function on behalf of that call, inside it and under its budget (never
 * queued behind it: that would deadlock). Nesting is bounded so the guest
 * cannot exhaust the host's native stack, and a guest promise handed to host
 * code never outlives the call that drives it.
 *
 * @packageDocumentation
 */
import type { Engine, GuestRef } from "../engine/engine.js";
import { EngineFault, GuestThrow } from "../engine/engine.js";
import { GuestError, RExecError } from "../host/errors.js";
import { handled } from "./handled.js";
import { insideHostCallOf } from "./host-call-scope.js";
import type { RealmCore } from "./realm-core.js";
import { isEnginePrimitive, type RealmCopy } from "./realm-copy.js";
import { describeThrown } from "./thrown-preview.js";

/** Guest calls made from host functions may nest this deep (see runNested). */
const MAX_NESTED_CALLS = 64;

/** What guest calls need of the realm beyond its shared state. */
export interface GuestCallsHost {
  /** The realm itself: host call scopes are keyed by it (see host-call-scope.ts). */
  readonly owner: object;
  /** Queue an independent call (the realm's `run` with its default sink). */
  readonly runQueued: (enter: (engine: Engine) => GuestRef) => Promise<unknown>;
  /** The host API's error mapping (the realm's current `errorMapper`). */
  readonly mapError: (error: Error) => Error;
}

interface NestedWait {
  promise: GuestRef;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Host-side callables of one realm's guest functions, and the nested calls they make. */
export class GuestCalls {
  /** How many guest calls made from host functions are running inside each other right now. */
  private nestedDepth = 0;
  /** Guest promises returned to host code by nested calls, settled by the running call's driver. */
  private readonly nestedWaits: NestedWait[] = [];
  /** Guest function ids whose host wrapper was garbage-collected; released at the next call. */
  private readonly releasedGuestFunctions: number[] = [];
  private readonly guestFunctionRegistry = new FinalizationRegistry<number>((id) => this.releasedGuestFunctions.push(id));

  constructor(
    private readonly core: RealmCore,
    private readonly copy: RealmCopy,
    private readonly host: GuestCallsHost,
  ) {}

  /** Are guest promises of nested calls still waiting to settle? */
  get waiting(): boolean {
    return this.nestedWaits.length > 0;
  }

  /** The host-side callable for a guest function: async, each call a full call under the limits. */
  guestFunction(id: number, name: string): (...args: unknown[]) => Promise<unknown> {
    const core = this.core;
    const enter = (engine: Engine, args: unknown[]): GuestRef => {
      // Fast path: numbers, undefined and short plain strings cross as themselves.
      if (args.length <= 8 && args.every(isEnginePrimitive)) {
        const refs = [core.temp(engine.newNumber(id))];
        for (const a of args) {
          refs.push(core.temp(a === undefined ? engine.undefinedRef() : typeof a === "number" ? engine.newNumber(a) : engine.newString(a as string)));
        }
        return engine.call(core.kernel.callGuestPrim, null, refs);
      }
      return engine.call(core.kernel.callGuestWith, null, [core.temp(engine.newNumber(id)), this.copy.copyIn(engine, args)]);
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
        handled(core.inCall && insideHostCallOf(this.host.owner) ? this.runNested((engine) => enter(engine, args)) : this.host.runQueued((engine) => enter(engine, args))),
    }[name || "guestFunction"]!;
    this.guestFunctionRegistry.register(fn, id);
    return fn;
  }

  /** Run guest code re-entrantly inside the running call (see {@link guestFunction}). */
  private runNested(enter: (engine: Engine) => GuestRef): Promise<unknown> {
    const core = this.core;
    // Each level is a host function frame plus engine frames on the host's
    // own native stack; the guest decides how deep it goes. Refused with a
    // clear error long before the stack runs out (which would leave V8 unable
    // even to report the rejection).
    if (this.nestedDepth >= MAX_NESTED_CALLS) {
      return Promise.reject(new RExecError(`guest callbacks nested more than ${MAX_NESTED_CALLS} deep (a host function calling a guest function that calls a host function…); the call was refused to protect the host's stack`));
    }
    this.nestedDepth++;
    const paused = !core.budget.charging;
    if (paused) core.budget.resume();
    try {
      const engine = core.live();
      const result = core.temp(enter(engine));
      if (!engine.isPromise(result)) return Promise.resolve(this.copy.copyOut(engine, result));
      return new Promise((resolve, reject) => {
        // Kept past this call's ref cleanup until it settles.
        core.callRefs.splice(core.callRefs.indexOf(result), 1);
        this.nestedWaits.push({ promise: result, resolve, reject });
        core.wake?.();
      });
    } catch (error) {
      if (error instanceof GuestThrow) return Promise.reject(this.readThrown(core.live(), error.value));
      return Promise.reject(error);
    } finally {
      this.nestedDepth--;
      if (paused) core.budget.pause();
    }
  }

  /** Settle the host promises of nested calls whose guest promise has settled. */
  settleNestedWaits(engine: Engine): void {
    const core = this.core;
    for (let i = 0; i < this.nestedWaits.length; ) {
      const wait = this.nestedWaits[i]!;
      const state = engine.promiseState(wait.promise);
      if (state.state === "pending") {
        i++;
        continue;
      }
      this.nestedWaits.splice(i, 1);
      core.temp(wait.promise);
      const value = core.temp(state.value);
      try {
        if (state.state === "fulfilled") wait.resolve(this.copy.copyOut(engine, value));
        else wait.reject(this.readThrown(engine, value));
      } catch (error) {
        if (error instanceof EngineFault) throw error;
        wait.reject(error instanceof GuestThrow ? this.readThrown(engine, error.value) : error);
      }
    }
  }

  /** The call ended: guest promises handed to host code by nested calls cannot settle any more. */
  rejectNestedWaits(): void {
    for (const wait of this.nestedWaits.splice(0)) {
      this.core.callRefs.push(wait.promise);
      wait.reject(new RExecError("the sandbox call ended before this guest callback's promise settled"));
    }
  }

  /** A thrown guest value as a GuestError, read under the current budget. */
  private readThrown(engine: Engine, thrown: GuestRef): GuestError {
    try {
      const value = this.copy.copyOut(engine, thrown);
      if (value instanceof GuestError) return this.host.mapError(value) as GuestError;
      return new GuestError("Error", `guest threw a non-Error value: ${describeThrown(value)}`, "", [], value);
    } catch (error) {
      if (error instanceof EngineFault) throw error;
      return new GuestError("Error", "guest threw a value that could not be read", "", []);
    }
  }

  /** Release the guest functions whose host wrappers were garbage-collected (at the start of a call). */
  releaseCollectedGuestFunctions(engine: Engine): void {
    while (this.releasedGuestFunctions.length > 0) {
      const id = this.releasedGuestFunctions.pop()!;
      engine.call(this.core.kernel.releaseGuest, null, [this.core.temp(engine.newNumber(id))]);
    }
  }
}
