/**
 * The CPU budget of one call into a sandbox.
 *
 * The engine polls {@link CpuBudget.shouldInterrupt} while guest code runs
 * (loops, calls, promise jobs). Time spent in the host — inside a host function
 * the guest called, or awaiting an async one — is not the guest's and is not
 * charged; everything else between `begin` and `end`, including guest getters
 * that run while a result is copied out, is.
 *
 * Time is charged by the wall clock (cheap enough to read at every poll), but
 * a call is only ended when the process has really used that much CPU since
 * it began: a thread the operating system did not run (a loaded machine, a
 * busy neighbour) has used no CPU, and on a loaded 2-core machine a trivial
 * call with a 100 ms budget was ended as a TimeoutError. The process's CPU time
 * (all threads, host work included) is never less than the guest's own, so
 * the check can only end a call later when the guest has truly not used its
 * budget — never let it use more. Where the process's CPU time is unknown
 * (the browser build) the wall clock decides alone.
 *
 * Outside a call the budget is closed: any guest code that would run then is
 * interrupted at once.
 *
 * @packageDocumentation
 */

/** The process's CPU time in ms (user + system, all threads), or undefined where it cannot be read. */
const processCpuMs: (() => number) | undefined =
  typeof process !== "undefined" && typeof process.cpuUsage === "function"
    ? () => {
        const usage = process.cpuUsage();
        return (usage.user + usage.system) / 1000;
      }
    : undefined;

/**
 * A recent (wall, process CPU) sample, shared by the thread's budgets and
 * renewed at most once a millisecond (reading it costs ~3 µs; a call costs
 * ~10): each call takes the sample current at its start, taken at or before it.
 */
const sample = { wallMs: -Infinity, cpuMs: 0 };

/** Whether the wall clock's verdict is confirmed by at least this much process CPU since the call's sample. */
function cpuConfirms(fromCpuMs: number, limitMs: number): { confirmed: boolean; leftMs: number } {
  if (!processCpuMs) return { confirmed: true, leftMs: 0 };
  const spent = processCpuMs() - fromCpuMs;
  return { confirmed: spent >= limitMs, leftMs: limitMs - spent };
}

export class CpuBudget {
  private deadline = -Infinity;
  private remainingMs = 0;
  private running = false;
  private limitMs = 0;
  /** The process's CPU time at (or up to 1 ms before) this call's start. */
  private cpuAtBeginMs = 0;
  /** Set when the budget ran out (as opposed to an interrupt requested for another reason). */
  expired = false;
  /** Set to stop the guest as soon as the engine next polls (exit, output limit…). */
  stopRequested = false;

  /** Open a call with `limitMs` of CPU time. */
  begin(limitMs: number): void {
    const now = performance.now();
    if (processCpuMs && now - sample.wallMs > 1) {
      sample.wallMs = now;
      sample.cpuMs = processCpuMs();
    }
    this.cpuAtBeginMs = sample.cpuMs;
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
    const now = performance.now();
    if (now > this.deadline) {
      if (!this.running) return true;
      // The wall clock says the budget is spent; the process's CPU time may say the thread was not running.
      const { confirmed, leftMs } = cpuConfirms(this.cpuAtBeginMs, this.limitMs);
      if (!confirmed) {
        this.deadline = now + Math.max(1, leftMs);
        return false;
      }
      this.expired = true;
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
