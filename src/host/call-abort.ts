/**
 * Per-call cancellation: `options.signal` of every r_* / s_* method.
 *
 * Invariant: an abort only ever stops the call it was given for — a call
 * still queued is dropped before it starts, a running one is stopped at the
 * guest's next poll by the same stop flag as `exit()` and the CPU deadline
 * (so the promise jobs it leaves are discarded as after a timeout), and an
 * abort arriving after the call ended does nothing. The signal's reason is
 * handed back as `cause` untouched: never stringified, never copied into the
 * guest.
 *
 * @packageDocumentation
 */
import type { GuestRealm } from "../boundary/realm.js";
import { RExecError } from "./errors.js";

/** The exit code used to stop an aborted call; the call's SystemExit is then reported as AbortError. */
export const ABORT_EXIT_CODE = -(2 ** 31);

/** `options.signal`, checked: an AbortSignal or undefined. */
export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new TypeError("options.signal must be an AbortSignal (e.g. AbortSignal.timeout(ms) or new AbortController().signal)");
  return value;
}

/**
 * Stop the call running in `realm` at the guest's next poll; if the call is
 * waiting for host work (a timer, an async host function), end the wait now
 * rather than when that work ends.
 *
 * Ending the wait reaches into the realm: GuestRealm has no public "stop this
 * call" API yet (its files are not this module's to change). A settlement is
 * queued that fails the waiting call (the realm then reports the stop, as
 * for `exit()`), and the wait is woken. It only throws while `isCurrent()`
 * says the aborted call is still the one running, so a settlement left over
 * never fails a later call. Should those internals change, aborting still
 * works — when the awaited work ends — and the promptness tests say so.
 */
export function stopRunningCall(realm: GuestRealm, isCurrent: () => boolean): void {
  realm.requestExit(ABORT_EXIT_CODE);
  const core = (realm as unknown as { core?: { settlements?: unknown; wake?: unknown } }).core;
  if (!core || !Array.isArray(core.settlements) || typeof core.wake !== "function") return;
  (core.settlements as Array<() => void>).push(() => {
    if (isCurrent()) throw new RExecError("the call was aborted");
  });
  (core.wake as () => void)();
}
