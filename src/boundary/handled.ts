/**
 * Promises rexec hands out never become unhandled rejections.
 *
 * Invariant: no rejection that rexec creates can end the host process. Node
 * ends a process on an unhandled rejection; a host that drops a wrapper's
 * promise (a guest callback it calls without awaiting, `forEach(cb)`, a call
 * it fires and forgets) would die of a failure the guest chose. So every
 * promise rexec returns carries a no-op handler from birth. The promise
 * itself is returned unchanged: a host that awaits it still sees the
 * rejection.
 *
 * @packageDocumentation
 */

const promiseThen = Promise.prototype.then;
const ignore = (): void => {};

/** Attach a no-op rejection handler to `promise` (a native promise of rexec's own) and return it. */
export function handled<T>(promise: Promise<T>): Promise<T> {
  // The captured intrinsic: a host that patched Promise.prototype.then changes nothing here.
  Reflect.apply(promiseThen, promise, [undefined, ignore]);
  return promise;
}
