/**
 * Which host call, if any, a guest-function wrapper is being called from.
 *
 * Invariant: a guest function called on behalf of the running guest call runs
 * inside that call; every other call of it is queued like any call.
 *
 * A host function that calls a guest callback (`forEach(cb)`, an async
 * function awaiting `cb()` after its own awaits) is part of the guest call
 * that is waiting for it: queueing the callback behind that call would
 * deadlock. A wrapper called from anywhere else — host code that holds a
 * guest function and calls it twice concurrently — is an independent call:
 * running it "nested" inside whatever call happens to be running would end it
 * with that call (a staggered `f(1)`, `f(2)` failed so).
 *
 * AsyncLocalStorage follows a host function's own async continuations, so an
 * async host function's later `cb()` still counts as inside its host call. A
 * scope is live from the moment the host function is called until it returns,
 * or its promise settles, or the guest call ends.
 *
 * Cost: on Node 20 an enabled AsyncLocalStorage tracks every promise of the
 * process (await-heavy host code measured ~3× slower), so the storage is
 * disabled again once no host call is live anywhere in the process — at the
 * next turn of the event loop, not after every call: switching Node's
 * promise hooks on and off cost ~2 µs per synchronous host call (a guest
 * loop calling a host function was dominated by it).
 *
 * @packageDocumentation
 */
import { AsyncLocalStorage } from "node:async_hooks";

/**
 * One host function call made by a guest; `owner` is the realm or worker link
 * it belongs to, or `undefined` for a call relayed from another thread that is
 * known to act for the running call (worker mode's nested `callFn`).
 */
export interface HostCallScope {
  readonly owner: object | undefined;
  /** False once the host call has returned or settled, or its guest call ended. */
  live: boolean;
}

const storage = new AsyncLocalStorage<HostCallScope>();
let liveScopes = 0;
let disableScheduled = false;

function disableWhenIdle(): void {
  disableScheduled = false;
  if (liveScopes === 0) storage.disable();
}

/** A new live scope for a host call made on behalf of `owner`. Close it with {@link closeHostCallScope}. */
export function openHostCallScope(owner: object | undefined): HostCallScope {
  liveScopes++;
  return { owner, live: true };
}

/** End a scope (idempotent); the storage is switched off when no scope is live in the process. */
export function closeHostCallScope(scope: HostCallScope): void {
  if (!scope.live) return;
  scope.live = false;
  if (--liveScopes === 0 && !disableScheduled) {
    disableScheduled = true;
    setImmediate(disableWhenIdle).unref();
  }
}

/** Run `fn` (the host function) inside `scope`. */
export function runInHostCallScope<T>(scope: HostCallScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** True when the caller runs inside a live host call made on behalf of `owner`. */
export function insideHostCallOf(owner: object): boolean {
  const scope = storage.getStore();
  return scope !== undefined && scope.live && (scope.owner === owner || scope.owner === undefined);
}
