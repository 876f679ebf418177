/**
 * How a call that failed or was stopped ends: which public error it gets, and
 * what is done so that nothing of it leaks into the next call.
 *
 * Invariant: every limit hit is reported as the limit it is (never as a plain
 * guest error the guest could have forged), an engine fault kills the realm,
 * work a stopped call left behind (promise jobs) never runs in the next call,
 * and reading the failure — which may run guest code — happens under a short
 * fresh budget, counted in the call's CPU.
 *
 * @packageDocumentation
 */
import type { GuestRef } from "../engine/engine.js";
import { EngineFault, GuestThrow } from "../engine/engine.js";
import { CloneError, DisposedError, GuestError, MemoryLimitError, OutputLimitError, RExecError, StackLimitError, SystemExit, TimeoutError } from "../host/errors.js";
import type { RealmCore } from "./realm-core.js";
import type { RealmCopy } from "./realm-copy.js";
import { describeThrown } from "./thrown-preview.js";

/** How long extracting a thrown error may take after the call's own budget ran out. */
const ERROR_EXTRACTION_MS = 250;

/** Budget and job count for running a stopped call's leftover promise jobs. */
const LEFTOVER_JOBS_MS = 50;
const LEFTOVER_JOBS_MAX = 1000;

/** Messages QuickJS builds use for a stack overflow caught inside the engine. */
const STACK_OVERFLOW = /^(Maximum call stack size exceeded|stack overflow)$/;

/** Turns what stopped one realm's calls into public errors. */
export class RealmFailures {
  constructor(
    private readonly core: RealmCore,
    private readonly copy: RealmCopy,
    /** The realm's dispose() (frees the engine, or requests it while a call runs). */
    private readonly dispose: () => void,
  ) {}

  /**
   * After a call was stopped (timeout, exit, output cap), promise jobs it queued
   * must not run in the next call. QuickJS cannot clear its job queue, so they
   * are run with the stop flag set (each is interrupted at the engine's next
   * poll). A job flood that keeps queueing more cannot be drained: then the
   * realm is discarded and the error says so.
   */
  discardLeftoverJobs(error: Error): Error {
    const core = this.core;
    const engine = core.engine;
    if (!(error instanceof TimeoutError || error instanceof SystemExit || error instanceof OutputLimitError)) return error;
    if (!engine?.alive || !engine.hasPendingJobs()) return error;
    this.openSideBudget(LEFTOVER_JOBS_MS);
    core.budget.stopRequested = true;
    // Wall-clock bound over all leftover jobs: each job runs until the engine's
    // next poll, and a job can spend that on a native call; 1000 of them must
    // not add up (a flood of async chains each sorting natively ran 127 s).
    const until = performance.now() + LEFTOVER_JOBS_MS;
    try {
      for (let i = 0; i < LEFTOVER_JOBS_MAX && engine.alive && engine.hasPendingJobs() && performance.now() < until; i++) {
        // The very next poll stops this job (the stop flag is set): before its first native call where possible.
        engine.pollSoon();
        try {
          engine.runJobs(1);
        } catch (jobError) {
          if (jobError instanceof GuestThrow) engine.free(jobError.value);
          else throw jobError;
        }
      }
      if (!engine.alive || !engine.hasPendingJobs()) return error;
    } catch (fault) {
      if (!(fault instanceof EngineFault)) throw fault;
    } finally {
      this.closeSideBudget();
    }
    const reason = "promise jobs kept coming after the guest was stopped";
    core.options.log(`${reason}; sandbox disposed`);
    core.deathReason = reason;
    this.dispose();
    if (error instanceof TimeoutError) return new TimeoutError(core.options.limits.timeoutMs, ` (${reason}, so this RExec was disposed)`);
    return error;
  }

  /** Turn whatever stopped a call into the public error it stands for. */
  classify(error: unknown): Error {
    const classified = this.classifyFailure(error);
    // dispose() called from inside the call (before or while the failure was read) wins.
    return this.core.disposeRequested ? new DisposedError(this.core.deathReason ?? "dispose() was called") : classified;
  }

  private classifyFailure(error: unknown): Error {
    const core = this.core;
    const limits = core.options.limits;
    if (error instanceof EngineFault) {
      this.kill(error);
      if (error.kind === "stack") {
        core.options.log(`limit: stackBytes (${limits.stackBytes}) — native stack overflow, sandbox disposed`);
        return new StackLimitError(limits.stackBytes, " (the engine had to be discarded; this RExec is now disposed)");
      }
      // An allocation failure the engine could not turn into a guest error is the cap being hit;
      // any other trap (e.g. "memory access out of bounds") is an engine failure.
      return /out of memory|enlarge memory|could not allocate/i.test(error.message)
        ? new MemoryLimitError("memoryBytes", limits.memoryBytes, " (the engine had to be discarded; this RExec is now disposed)")
        : new RExecError(`the engine failed (${error.message}); this RExec is now disposed`, { cause: error });
    }
    if (core.exitCode !== undefined) return new SystemExit(core.exitCode);
    if (core.outputExceeded) {
      core.options.log(`limit: outputBytes (${limits.outputBytes}) exceeded`);
      return new OutputLimitError(limits.outputBytes);
    }
    if (core.budget.expired) {
      core.options.log(`limit: timeoutMs (${limits.timeoutMs}) exceeded`);
      return new TimeoutError(limits.timeoutMs);
    }
    if (error instanceof GuestThrow) {
      const guestError = this.toGuestError(error.value);
      // Reading the thrown value ran guest code: it may have called exit().
      if (core.exitCode !== undefined) return new SystemExit(core.exitCode);
      const heapFull = (core.engine?.heapBytes ?? 0) + 64 * 1024 >= (core.engine?.heapLimitBytes ?? Infinity);
      // QuickJS throws `null` when it runs out of memory while already handling an out-of-memory error.
      const oomNull = heapFull && guestError.thrown === null && /non-Error value: null$/.test(guestError.message);
      // Some natives fail an allocation without setting an exception: the guest "throws"
      // undefined. The memory import saw the cap refuse to grow (heap-growth.ts).
      const capRefused = (core.engine?.refusedHeapGrowths ?? 0) > core.refusedGrowthsAtStart;
      const oomSilent = capRefused && (guestError.thrown === undefined || guestError.thrown === null) && /non-Error value: (undefined|null)$/.test(guestError.message);
      if ((guestError.guestName === "InternalError" && guestError.message === "out of memory") || (guestError.unreadable && (heapFull || capRefused)) || oomNull || oomSilent) {
        core.options.log(`limit: memoryBytes (${limits.memoryBytes}) reached`);
        return new MemoryLimitError("memoryBytes", limits.memoryBytes);
      }
      if ((guestError.guestName === "RangeError" || guestError.guestName === "InternalError") && STACK_OVERFLOW.test(guestError.message)) {
        core.options.log(`limit: stackBytes (${limits.stackBytes}) reached`);
        return new StackLimitError(limits.stackBytes);
      }
      return guestError;
    }
    if (error instanceof Error) return error;
    return new RExecError(String(error));
  }

  /** An engine fault: the engine is gone, and the realm is dead from now on. */
  private kill(fault: EngineFault): void {
    const core = this.core;
    if (!core.disposeRequested) core.deathReason = `the engine failed: ${fault.message}`;
    core.options.log(`engine fault: ${fault.message}; sandbox disposed`);
    core.engine = undefined;
  }

  /** Copy a thrown guest value out as a GuestError (getters run under a short fresh budget). */
  private toGuestError(thrown: GuestRef): GuestError {
    const engine = this.core.engine;
    if (!engine?.alive) return new GuestError("Error", "the guest threw, and the engine was lost", "", []);
    this.openSideBudget(Math.min(ERROR_EXTRACTION_MS, this.core.options.limits.timeoutMs));
    try {
      const value = this.copy.copyOut(engine, thrown, true);
      if (value instanceof GuestError) return value;
      return new GuestError("Error", `guest threw a non-Error value: ${describeThrown(value)}`, "", [], value);
    } catch (error) {
      if (error instanceof EngineFault) throw error;
      const unreadable =
        error instanceof GuestThrow
          ? new GuestError("Error", "guest threw a value whose fields could not be read (reading them threw)", "", [])
          : error instanceof CloneError || error instanceof MemoryLimitError
            ? new GuestError("Error", `guest threw a value that cannot be copied: ${error.message}`, "", [])
            : new GuestError("Error", "guest threw a value that could not be read in time", "", []);
      unreadable.unreadable = true;
      return unreadable;
    } finally {
      this.closeSideBudget();
    }
  }

  /**
   * Run the next steps of a call under a fresh budget of `ms` (reading a
   * thrown value after the call's own budget is spent, draining leftover
   * jobs). The call's CPU so far is banked first, so `lastCallCpuMs` stays the
   * sum of both and the fresh deadline really starts now.
   */
  private openSideBudget(ms: number): void {
    this.core.bankedCpuMs += this.core.budget.end();
    this.core.budget.begin(ms);
  }

  private closeSideBudget(): void {
    this.core.bankedCpuMs += this.core.budget.end();
    // A closed, empty budget: anything that would still run is interrupted, and ending it again adds nothing.
    this.core.budget.begin(0);
    this.core.budget.end();
  }
}
