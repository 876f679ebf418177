/**
 * The wall-clock watchdog of a worker (worker mode) or pool thread.
 *
 * Invariant: every moment the worker thread runs guest code counts against
 * the deadline — whatever started it (a call, a guest timer, a promise job
 * run after a host function settled, a getter read while a result is copied)
 * and whatever the host is doing meanwhile. Only time the worker spends
 * waiting is not charged: for the host, or for a guest timer's delay (idle
 * time, bounded by the realm's own `limits.wallTimeMs`).
 *
 * How: the charge is the worker's *event-loop active time*
 * (`worker.performance.eventLoopUtilization()`, read from this thread while
 * the worker runs) minus the time the worker sat blocked in synchronous host
 * calls (which the worker adds up in the link's shared buffer, see link.ts).
 * A worker's event loop is idle exactly when no JavaScript runs on it — its
 * realm is waiting for an async host function or a guest timer, which the
 * realm's own `limits.wallTimeMs` bounds — and busy otherwise; a synchronous
 * host call shows as busy (the worker sleeps in `Atomics.wait`), hence the
 * subtraction.
 *
 * Why this and not the alternatives: pausing the clock while a host call is
 * pending (the former design) let a guest timer spin natively, unbounded,
 * while the guest awaited a host promise that never settled. Having the
 * worker say when it enters and leaves guest code would have to instrument
 * every place guest code can start, and one missed entry point is an
 * unbounded spin again; heartbeats charge nothing while a native loop blocks
 * the sender. The event loop's own accounting needs no cooperation from the
 * worker, so it cannot be missed or starved.
 *
 * The timer fires no earlier than the deadline could be reached (the charge
 * grows at most as fast as the wall clock), re-checks, and re-arms for what is
 * left, so an idle worker costs one wake-up per remaining deadline.
 *
 * @packageDocumentation
 */
import type { Worker } from "node:worker_threads";
import { blockedMicros } from "./link.js";

/** Charges a worker's own running time against a deadline and calls `onExpire` once it is spent. */
export class Watchdog {
  #worker: Pick<Worker, "performance"> | undefined;
  #signal: Int32Array | undefined;
  #activeMark = 0;
  #blockedMark = 0n;
  #wallMark = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    /** The deadline, in ms of worker running time. */
    private readonly limitMs: number,
    private readonly onExpire: () => void,
  ) {}

  /** True while charging. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Start charging from zero. `worker` undefined (its thread could not be
   * found) falls back to charging all wall-clock time: never less bounded.
   */
  start(worker: Pick<Worker, "performance"> | undefined, signal: Int32Array): void {
    this.stop();
    this.#worker = worker;
    this.#signal = signal;
    this.#activeMark = this.#active();
    this.#blockedMark = blockedMicros(signal);
    this.#wallMark = performance.now();
    this.#arm();
  }

  /** Stop charging (the work is done, or the worker is gone). */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Milliseconds charged since {@link start}. */
  get spentMs(): number {
    if (this.#worker === undefined || this.#signal === undefined) return performance.now() - this.#wallMark;
    const active = this.#active() - this.#activeMark;
    const blocked = Number(blockedMicros(this.#signal) - this.#blockedMark) / 1000;
    return Math.max(0, active - blocked);
  }

  #active(): number {
    try {
      return this.#worker?.performance.eventLoopUtilization().active ?? 0;
    } catch {
      return 0;
    }
  }

  #arm(): void {
    const left = this.limitMs - this.spentMs;
    if (left <= 0) {
      this.#timer = undefined;
      this.onExpire();
      return;
    }
    this.#timer = setTimeout(() => this.#arm(), Math.ceil(left) + 1);
    this.#timer.unref();
  }
}
