/**
 * Host functions called by the guest: the kernel's two ways out (`bridge`,
 * `bridgePrim`), the call of the host function itself, and the way its result
 * or error goes back in.
 *
 * Invariant: a host function receives only copies (primitives read by
 * conversion on the fast path, decoded values on the general one) and the
 * guest receives only copies of its result; nothing the host throws reaches
 * the guest as a host object (name and message only, read without running
 * its code). Host functions run only inside a call that is not stopping,
 * their time is not charged to the guest, and an async result is applied
 * inside a later call budget, never from a host callback.
 *
 * @packageDocumentation
 */
import { types } from "node:util";
import type { Engine, GuestRef } from "../engine/engine.js";
import { EngineFault, GuestThrow } from "../engine/engine.js";
import { CloneError, MemoryLimitError } from "../host/errors.js";
import { decodeGuestValue } from "./host-decode.js";
import { handled } from "./handled.js";
import { closeHostCallScope, openHostCallScope, runInHostCallScope, type HostCallScope } from "./host-call-scope.js";
import type { AnyFunction, RealmCore } from "./realm-core.js";
import { UNSAFE_FOR_ENGINE_STRING, type GuestFunctionFactory, type RealmCopy } from "./realm-copy.js";

/** The guest's calls of one realm's host functions. */
export class HostCalls {
  /** Scopes of async host calls still pending (closed when they settle or the call ends). */
  private readonly liveHostScopes = new Set<HostCallScope>();

  constructor(
    private readonly core: RealmCore,
    private readonly copy: RealmCopy,
    private readonly guestFunction: GuestFunctionFactory,
    /** The realm itself: host call scopes are keyed by it (see host-call-scope.ts). */
    private readonly owner: object,
  ) {}

  /** The call ended: a host function still running acts for nobody; its callbacks are independent calls now. */
  closeScopes(): void {
    for (const scope of this.liveHostScopes) closeHostCallScope(scope);
    this.liveHostScopes.clear();
  }

  /**
   * The fast way out: `bridgePrim(id, tags, ...primitives)` (see the kernel).
   * Every argument is read by a conversion to the tagged primitive type, so
   * whatever the guest passes, the host function receives only primitives.
   */
  onBridgePrim(args: readonly GuestRef[]): GuestRef | undefined {
    const core = this.core;
    try {
      const engine = core.live();
      if (!core.inCall || core.stopping) {
        throw core.guestThrow(engine, "Error", "the sandbox is stopping");
      }
      const [idRef, tagsRef, ...rest] = args;
      const fn = idRef === undefined ? undefined : core.hostFunctions.get(engine.getNumber(idRef));
      if (!fn || tagsRef === undefined || rest.length > 8) throw core.guestThrow(engine, "TypeError", "bad host call");
      let tags = engine.getNumber(tagsRef);
      if (!Number.isInteger(tags) || tags < 0) throw core.guestThrow(engine, "TypeError", "bad host call");
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
          if (engine.typeOf(ref) !== "string" || text.length !== engine.getNumber(core.temp(engine.getProp(ref, "length"))) || text.includes("\ufffd")) {
            throw core.guestThrow(engine, "TypeError", "bad host call");
          }
          argv.push(text);
        }
      }
      return this.invokeHost(engine, fn, argv);
    } catch (error) {
      if (error instanceof GuestThrow || error instanceof EngineFault) throw error;
      core.options.log(`host call failed inside rexec: ${errorName(error)}`);
      throw core.guestThrow(core.live(), "Error", "host call failed");
    }
  }

  /** The kernel's general way out: `bridge("call", id, json, ...buffers)`. */
  onBridgeCall(args: readonly GuestRef[]): GuestRef | undefined {
    try {
      return this.bridgeCall(args);
    } catch (error) {
      if (error instanceof GuestThrow || error instanceof EngineFault) throw error;
      // A host-side failure we did not foresee: the guest gets a plain error, never the host object.
      this.core.options.log(`host call failed inside rexec: ${errorName(error)}`);
      throw this.core.guestThrow(this.core.live(), "Error", "host call failed");
    }
  }

  private bridgeCall(args: readonly GuestRef[]): GuestRef | undefined {
    const core = this.core;
    const engine = core.live();
    if (!core.inCall || core.stopping) {
      throw core.guestThrow(engine, "Error", "the sandbox is stopping");
    }
    const [opRef, idRef, ...rest] = args;
    if (!opRef || !idRef || engine.typeOf(opRef) !== "string" || engine.typeOf(idRef) !== "number") {
      throw core.guestThrow(engine, "TypeError", "bad host call");
    }
    const op = engine.getString(opRef);
    const fn = core.hostFunctions.get(engine.getNumber(idRef));
    if (!fn) throw core.guestThrow(engine, "TypeError", "unknown host function");
    const argv = op === "call" ? this.encodedArgs(engine, rest) : op === "callValue" ? this.valueArgs(engine, rest) : undefined;
    if (!argv) throw core.guestThrow(engine, "TypeError", "bad host call");
    return this.invokeHost(engine, fn, argv);
  }

  /** The general path: arguments encoded by the kernel (JSON text plus ArrayBuffers). */
  private encodedArgs(engine: Engine, refs: readonly GuestRef[]): unknown[] | undefined {
    const core = this.core;
    const [jsonRef, ...bufferRefs] = refs;
    if (!jsonRef || engine.typeOf(jsonRef) !== "string") return undefined;
    const limit = core.options.limits.resultBytes;
    if (engine.getNumber(core.temp(engine.getProp(jsonRef, "length"))) > limit) {
      throw core.guestThrow(engine, "RangeError", `arguments are larger than limits.resultBytes (${limit})`);
    }
    let argv: unknown;
    try {
      const buffers = bufferRefs.map((ref) => engine.getArrayBuffer(ref));
      argv = decodeGuestValue(engine.getString(jsonRef), buffers, this.guestFunction, limit);
    } catch (error) {
      if (error instanceof EngineFault || error instanceof GuestThrow) throw error;
      if (error instanceof MemoryLimitError) throw core.guestThrow(engine, "RangeError", `arguments are too large for the host: ${error.message}`);
      throw core.guestThrow(engine, "TypeError", error instanceof CloneError ? error.message : "arguments could not be copied");
    }
    return Array.isArray(argv) ? argv : undefined;
  }

  /** The binary path: the arguments array itself, which the kernel's bjsonSafe gate passed (realm-copy.ts). */
  private valueArgs(engine: Engine, refs: readonly GuestRef[]): unknown[] | undefined {
    const core = this.core;
    if (refs.length !== 1 || engine.typeOf(refs[0]!) !== "object") return undefined;
    let argv: unknown;
    try {
      argv = this.copy.copyOutGated(engine, refs[0]!);
    } catch (error) {
      if (error instanceof EngineFault || error instanceof GuestThrow) throw error;
      if (error instanceof MemoryLimitError) throw core.guestThrow(engine, "RangeError", `arguments are too large for the host: ${error.message}`);
      throw core.guestThrow(engine, "TypeError", error instanceof CloneError ? error.message : "arguments could not be copied");
    }
    return Array.isArray(argv) ? argv : undefined;
  }

  /** Call a host function with copied arguments; copy its result (or error) back. */
  private invokeHost(engine: Engine, fn: AnyFunction, argv: unknown[]): GuestRef | undefined {
    const core = this.core;
    const name = fn.name || "anonymous";
    if (core.options.verbose) core.options.log(`host call: ${name}(${argv.length} argument${argv.length === 1 ? "" : "s"})`);
    let result: unknown;
    core.budget.pause();
    const scope = openHostCallScope(this.owner);
    try {
      result = runInHostCallScope(scope, () => (fn as (...a: unknown[]) => unknown)(...argv));
    } catch (error) {
      closeHostCallScope(scope);
      core.budget.resume();
      if (core.stopping) throw core.guestThrow(engine, "Error", "the sandbox is stopping");
      core.options.log(`host call: ${name} threw ${errorName(error)}`);
      throw this.hostErrorToGuest(engine, error);
    }
    core.budget.resume();
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
      return this.copy.copyIn(engine, result);
    } catch (error) {
      if (error instanceof CloneError) throw core.guestThrow(engine, "TypeError", `host function ${name} returned ${error.message.replace(/^cannot copy /, "")}`);
      throw error;
    }
  }

  /** A guest promise settled (inside a later budget) when the host promise settles. */
  private hostPromise(engine: Engine, name: string, promise: Promise<unknown>, scope: HostCallScope): GuestRef {
    const core = this.core;
    this.liveHostScopes.add(scope);
    const deferred = engine.newPromise();
    core.pendingHostCalls++;
    const settleWith = (apply: (engine: Engine) => void) => {
      closeHostCallScope(scope);
      this.liveHostScopes.delete(scope);
      core.pendingHostCalls--;
      core.settlements.push(() => {
        const live = core.engine;
        if (!live?.alive) return;
        try {
          apply(live);
        } catch (error) {
          if (error instanceof EngineFault) throw error;
          // The guest-side decode failed (e.g. out of memory): reject with a plain error.
          if (error instanceof GuestThrow) deferred.reject(error.value);
          else deferred.reject(core.makeGuestError(live, "TypeError", error instanceof CloneError ? error.message : "host result could not be copied"));
        }
      });
      core.wake?.();
    };
    // The derived promise is handled too: a throwing logger must not end the host.
    handled(Promise.prototype.then.call(
      promise,
      (value) => settleWith((live) => deferred.resolve(this.copy.copyIn(live, value))),
      (error) => {
        core.options.log(`host call: ${name} rejected with ${errorName(error)}`);
        settleWith((live) => deferred.reject(this.hostErrorValue(live, error)));
      },
    ) as Promise<unknown>);
    return deferred.promise;
  }

  private hostErrorValue(engine: Engine, error: unknown): GuestRef {
    const { name, message } = describeHostError(error);
    return this.core.makeGuestError(engine, name, message);
  }

  private hostErrorToGuest(engine: Engine, error: unknown): GuestThrow {
    return new GuestThrow(this.hostErrorValue(engine, error));
  }
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
