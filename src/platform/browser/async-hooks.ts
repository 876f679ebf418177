/**
 * `node:async_hooks` for the browser build: an `AsyncLocalStorage` whose
 * store is visible during the synchronous part of `run` only.
 *
 * Browsers have no async context tracking (the TC39 AsyncContext proposal is
 * not shipped). The core uses the storage to tell whether a guest callback is
 * called from inside the host function the running guest call is waiting for
 * (src/boundary/host-call-scope.ts). With this version a callback called
 * synchronously by a host function counts as inside; one called after the
 * host function's first `await` does not, and is queued behind the running
 * call — if that call waits for the host function, it ends at its wall-clock
 * limit (TimeoutError), never hangs. Documented in the README's browser section.
 *
 * @packageDocumentation
 */
export class AsyncLocalStorage<T> {
  #store: T | undefined;
  #depth = 0;
  run<R>(store: T, fn: () => R): R {
    const previous = this.#store;
    this.#store = store;
    this.#depth++;
    try {
      return fn();
    } finally {
      this.#depth--;
      this.#store = previous;
    }
  }
  getStore(): T | undefined {
    return this.#depth > 0 ? this.#store : undefined;
  }
  disable(): void {
    // Nothing is tracked between turns, so there is nothing to switch off.
  }
}

export default { AsyncLocalStorage };
