/**
 * Driving a call to its end: promise jobs drained under the budget, a guest
 * promise settled as host results arrive, waits for host work bounded by the
 * wall-clock limit (not charged as guest CPU).
 *
 * Invariant: a wait ends — with the awaited result, a settlement, or the
 * call's stop — and a guest promise that nothing can settle any more (no
 * host call, job or nested wait pending) fails the call at once instead of
 * hanging it.
 *
 * @packageDocumentation
 */
import type { Engine, GuestRef } from "../engine/engine.js";
import { GuestThrow } from "../engine/engine.js";
import { GuestError, TimeoutError } from "../host/errors.js";
import type { RealmCore } from "./realm-core.js";
import type { GuestCalls } from "./realm-guest-calls.js";

/** The call driver of one realm (see the invariant above). */
export class CallDriver {
  constructor(
    private readonly core: RealmCore,
    private readonly guestCalls: GuestCalls,
  ) {}

  /** Run queued promise jobs until none are left (a job loop is bounded by the budget). */
  drainJobs(engine: Engine): void {
    do {
      while (engine.hasPendingJobs()) {
        engine.runJobs();
        this.core.checkStops();
        this.core.applySettlements();
      }
      if (this.guestCalls.waiting) this.guestCalls.settleNestedWaits(engine);
    } while (engine.hasPendingJobs());
  }

  /** Drive a guest promise until it settles, applying host results as they arrive. */
  async settle(engine: Engine, promise: GuestRef): Promise<GuestRef> {
    const core = this.core;
    for (;;) {
      this.drainJobs(engine);
      const state = engine.promiseState(promise);
      if (state.state === "fulfilled") return core.temp(state.value);
      if (state.state === "rejected") throw new GuestThrow(core.temp(state.value));
      if (core.settlements.length > 0) {
        core.applySettlements();
        continue;
      }
      if (core.pendingHostCalls === 0 && !engine.hasPendingJobs() && !this.guestCalls.waiting) {
        throw new GuestError("Error", "the guest awaited a promise that can never settle (no host call or job is pending)", "", []);
      }
      await this.waitForHost();
    }
  }

  /** Run until no job, host call or timer of the guest is pending. */
  async idle(engine: Engine): Promise<void> {
    const core = this.core;
    for (;;) {
      core.applySettlements();
      this.drainJobs(engine);
      if (core.settlements.length > 0) continue;
      if (core.pendingHostCalls === 0 && !engine.hasPendingJobs()) return;
      await this.waitForHost();
    }
  }

  /** Wait for a host result. Waiting is not guest CPU time, but the wall-clock limit applies. */
  private async waitForHost(): Promise<void> {
    const core = this.core;
    core.budget.pause();
    const remaining = core.wallDeadline - performance.now();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    await new Promise<void>((resolve) => {
      core.wake = resolve;
      timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, Math.max(0, remaining));
    });
    clearTimeout(timer);
    core.wake = undefined;
    core.budget.resume();
    core.live();
    if (timedOut && core.settlements.length === 0) {
      core.options.log(`limit: wallTimeMs (${core.options.limits.wallTimeMs}) exceeded while waiting for host calls`);
      throw new TimeoutError(core.options.limits.wallTimeMs, " of wall-clock time while waiting for host calls or timers", "wallTimeMs");
    }
  }
}
