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

/** Pending guest timers of one sandbox. */
export class GuestTimers {
  private readonly pending = new Map<number, Pending>();

  /** Resolve after `ms` (clamped to 0…2³¹−1); `id` lets the guest cancel it. */
  sleep(id: unknown, ms: unknown): Promise<void> {
    if (typeof id !== "number" || !Number.isInteger(id)) return Promise.reject(new TypeError("bad timer id"));
    if (this.pending.size >= MAX_GUEST_TIMERS) {
      return Promise.reject(new RangeError(`too many pending timers (at most ${MAX_GUEST_TIMERS})`));
    }
    const delay = typeof ms === "number" && Number.isFinite(ms) ? Math.min(Math.max(0, ms), 2 ** 31 - 1) : 0;
    return new Promise<void>((resolve) => {
      const handle = setTimeout(() => {
        this.pending.delete(id);
        resolve();
      }, delay);
      handle.unref();
      this.pending.get(id)?.resolve();
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

  /** Cancel everything (dispose). */
  clear(): void {
    for (const id of [...this.pending.keys()]) this.cancel(id);
  }
}
