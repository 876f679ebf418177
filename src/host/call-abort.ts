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
 * (GuestRealm.failWaitingCall: the realm then reports the stop, as for
 * `exit()`; only while `isCurrent()` says the aborted call is still running).
 */
export function stopRunningCall(realm: GuestRealm, isCurrent: () => boolean): void {
  realm.requestExit(ABORT_EXIT_CODE);
  realm.failWaitingCall(isCurrent);
}
