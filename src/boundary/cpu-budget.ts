/**
 * The CPU budget of one call into a sandbox.
 *
 * The engine polls {@link CpuBudget.shouldInterrupt} while guest code runs
 * (loops, calls, promise jobs). Time spent in the host — inside a host function
 * the guest called, or awaiting an async one — is not the guest's and is not
 * charged; everything else between `begin` and `end`, including guest getters
 * that run while a result is copied out, is.
 *
 * Outside a call the budget is closed: any guest code that would run then is
 * interrupted at once.
 *
 * @packageDocumentation
 */
export class CpuBudget {
  private deadline = -Infinity;
  private remainingMs = 0;
  private running = false;
  private limitMs = 0;
  /** Set when the budget ran out (as opposed to an interrupt requested for another reason). */
  expired = false;
  /** Set to stop the guest as soon as the engine next polls (exit, output limit…). */
  stopRequested = false;

  /** Open a call with `limitMs` of CPU time. */
  begin(limitMs: number): void {
    this.limitMs = limitMs;
    this.remainingMs = limitMs;
    this.expired = false;
    this.stopRequested = false;
    this.resume();
  }

  /** Stop charging (the host is working or waiting). */
  pause(): void {
    if (!this.running) return;
    this.remainingMs = Math.max(0, this.deadline - performance.now());
    this.running = false;
    this.deadline = -Infinity;
  }

  /** Charge again. */
  resume(): void {
    if (this.running) return;
    this.running = true;
    this.deadline = performance.now() + this.remainingMs;
  }

  /** Close the call; returns the CPU milliseconds charged. */
  end(): number {
    this.pause();
    this.running = false;
    return this.limitMs - this.remainingMs;
  }

  /** True while time is being charged (not paused, call open). */
  get charging(): boolean {
    return this.running;
  }

  /** CPU milliseconds charged so far in this call. */
  get spentMs(): number {
    const remaining = this.running ? Math.max(0, this.deadline - performance.now()) : this.remainingMs;
    return this.limitMs - remaining;
  }

  /**
   * True when the guest must stop: the call's time is used up or a stop was
   * requested. Unlike {@link shouldInterrupt} it is also right while paused
   * (inside a host function), and it has no side effects.
   */
  get exhausted(): boolean {
    if (this.stopRequested) return true;
    return this.running ? performance.now() > this.deadline : this.remainingMs <= 0;
  }

  /** The engine's interrupt poll. */
  readonly shouldInterrupt = (): boolean => {
    threadPollHook?.();
    if (this.stopRequested) return true;
    if (performance.now() > this.deadline) {
      if (this.running) this.expired = true;
      return true;
    }
    return false;
  };
}

/**
 * Run at every engine poll of this thread, when set. Worker mode sets it: a
 * cancellation from the host thread cannot arrive as a message while the
 * guest runs (the worker's event loop is blocked), so it is read from shared
 * memory here, and a stop is requested through the realm as `exit()` does.
 */
let threadPollHook: (() => void) | undefined;

/** Set (or clear) this thread's {@link threadPollHook}. */
export function setThreadPollHook(hook: (() => void) | undefined): void {
  threadPollHook = hook;
}
