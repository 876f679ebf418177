/**
 * The host side of guest timers (`setTimeout`, `setInterval`, `setImmediate`).
 *
 * A guest timer is an async host call that resolves after the delay; the
 * guest's callback then runs as a promise job inside a call, under its CPU
 * budget. Host timers are unref'd (a guest timer never keeps the host process
 * alive on its own), bounded in number, and all cleared on dispose.
 *
 * @packageDocumentation
 */

/** Most timers one sandbox may have pending at once. */
export const MAX_GUEST_TIMERS = 1000;

interface Pending {
  readonly handle: NodeJS.Timeout;
  readonly resolve: () => void;
}

/**
 * Pending guest timers of one sandbox.
 *
 * Invariant: every host timer a sandbox started is in `pending` until it
 * fires or is cleared, so `clear()` (dispose) leaves none behind. A guest
 * that arms the same id again (it can call the sleep native itself) replaces
 * the old timer — which is cleared, not left armed holding the sandbox alive
 * (each leaked 40 MB sandbox, in-thread and in pool threads, before) — and a
 * stale timer firing never removes its successor's entry. After `clear()`
 * no new timer starts.
 */
export class GuestTimers {
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  /** Resolve after `ms` (clamped to 0…2³¹−1); `id` lets the guest cancel it. */
  sleep(id: unknown, ms: unknown): Promise<void> {
    if (typeof id !== "number" || !Number.isInteger(id)) return Promise.reject(new TypeError("bad timer id"));
    if (this.closed) return Promise.reject(new Error("the sandbox was disposed"));
    const previous = this.pending.get(id);
    if (previous === undefined && this.pending.size >= MAX_GUEST_TIMERS) {
      return Promise.reject(new RangeError(`too many pending timers (at most ${MAX_GUEST_TIMERS})`));
    }
    const delay = typeof ms === "number" && Number.isFinite(ms) ? Math.min(Math.max(0, ms), 2 ** 31 - 1) : 0;
    if (previous !== undefined) {
      clearTimeout(previous.handle);
      this.pending.delete(id);
      previous.resolve();
    }
    return new Promise<void>((resolve) => {
      const handle = setTimeout(() => {
        if (this.pending.get(id)?.handle === handle) this.pending.delete(id);
        resolve();
      }, delay);
      handle.unref();
      this.pending.set(id, { handle, resolve });
    });
  }

  /** Cancel: the host timer stops and its promise resolves now (the guest ignores it). */
  cancel(id: unknown): void {
    if (typeof id !== "number") return;
    const timer = this.pending.get(id);
    if (!timer) return;
    clearTimeout(timer.handle);
    this.pending.delete(id);
    timer.resolve();
  }

  /** Cancel everything and start no more timers (dispose). */
  clear(): void {
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.cancel(id);
  }

  /** Host timers armed now (for tests). */
  get size(): number {
    return this.pending.size;
  }
}
