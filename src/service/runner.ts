/**
 * The part of `rexec serve` and `rexec worker` that runs jobs: admission
 * (a bounded number running, a bounded FIFO of waiting jobs, refusal beyond
 * that), one {@link RExecPool} per distinct set of limits, and shutdown.
 *
 * Invariants: at most `concurrency` guest runs at a time whatever the number
 * of pools; at most `queueLimit` jobs wait (then {@link QueueFullError} at
 * once, never unbounded memory); a job's limits were checked by
 * {@link checkJob} so they are never above the server's (and its modules are
 * among the server's); a pool's limits and modules are exactly its jobs' (they
 * are enforced by the realm, so a job with tighter ones runs in a pool built
 * with them).
 *
 * @packageDocumentation
 */
import { availableParallelism } from "node:os";
import { AbortError, RExecError } from "../host/errors.js";
import { resolveLimits, type Limits } from "../host/limits.js";
import { QueueFullError, RExecPool, type RExecPoolOptions } from "../pool/pool.js";
import { WORKER_DEFAULT_STACK_BYTES } from "../worker/spawn.js";
import { RExec } from "../host/rexec.js";
import { checkJob, poolKey, type Job } from "./job.js";
import { errorBody, errorType, isGuestOutcome, toJsonValue, type RunResult, type RunStats } from "./result.js";

export { QueueFullError };

/** Every pool of the runner is in use by running jobs, and a job needs a pool of other limits (retry later). */
export class PoolsBusyError extends RExecError {}

/** The runner is shutting down: the job was not run, or was cancelled (retry elsewhere). */
export class ShuttingDownError extends RExecError {}

/** Policy options passed to every pool (what the guest may use); limits, size and queue are the runner's. */
export type RunnerPolicy = Omit<RExecPoolOptions, "size" | "queueLimit" | "limits" | "wallTimeoutMs">;

/** Options of a {@link ServiceRunner}. */
export interface RunnerOptions {
  /** The server's limits: the default of every job and the most a job may ask for. */
  readonly limits?: Partial<Limits>;
  /** Guest runs at a time (default `os.availableParallelism()`); also each pool's thread count. */
  readonly concurrency?: number;
  /** Jobs that may wait for a free thread (default `concurrency * 16`); beyond it: {@link QueueFullError}. */
  readonly queueLimit?: number;
  /** Pools of distinct limits/modules kept at once (default 4, the server's own pool included). */
  readonly maxPools?: number;
  /** A pool of job-chosen limits unused this long is closed (default 60 000 ms). */
  readonly poolIdleMs?: number;
  /** Longest `code` of a job in characters (default 1 Mi). */
  readonly maxCodeBytes?: number;
  /** What guests may use (modules, fetch origins, engine…); see {@link RExecPoolOptions}. */
  readonly policy?: RunnerPolicy;
  /** Called once per finished run (metrics). */
  readonly onRun?: (event: RunEvent) => void;
}

/** One finished run, for metrics. */
export interface RunEvent {
  /** `"value"`, or the error's type (`"GuestError"`, `"TimeoutError"`…). */
  readonly outcome: string;
  /** From admission to answer, in ms (queue wait included). */
  readonly durationMs: number;
  /** Guest CPU time in ms (0 when the run did not start). */
  readonly cpuMs: number;
}

interface PoolEntry {
  readonly pool: RExecPool;
  active: number;
  lastUsed: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Runs jobs in pools, a bounded number at a time.
 *
 * ```ts
 * const runner = new ServiceRunner({ concurrency: 2, limits: { timeoutMs: 500 } });
 * const result = await runner.run({ code: "input.a + 1", input: { a: 1 } });
 * await runner.close();
 * ```
 */
export class ServiceRunner {
  /** The server's limits (maxima and defaults of jobs). */
  readonly limits: Limits;
  readonly concurrency: number;
  readonly queueLimit: number;
  readonly maxPools: number;
  readonly maxCodeBytes: number;
  /** The builtin modules guests may import (`policy.okBuiltinModules`, or RExec's default); a job may narrow them. */
  readonly modules: readonly string[];

  readonly #policy: RunnerPolicy;
  readonly #poolIdleMs: number;
  readonly #onRun: ((event: RunEvent) => void) | undefined;
  readonly #pools = new Map<string, PoolEntry>();
  readonly #defaultKey: string;
  readonly #waiting: Waiter[] = [];
  /** Controllers of admitted runs: a forced close aborts them. */
  readonly #running = new Set<AbortController>();
  readonly #sweep: NodeJS.Timeout;
  #closing = false;
  #closed: Promise<void> | undefined;
  /** Slots taken (jobs admitted and not finished); a slot passes from a finished job to the next waiting one. */
  #slots = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(options: RunnerOptions = {}) {
    const concurrency = options.concurrency ?? availableParallelism();
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
    const queueLimit = options.queueLimit ?? concurrency * 16;
    if (!Number.isInteger(queueLimit) || queueLimit < 0) throw new RangeError(`queueLimit must be a whole number ≥ 0, got ${queueLimit}`);
    const maxPools = options.maxPools ?? 4;
    if (!Number.isInteger(maxPools) || maxPools < 1) throw new RangeError(`maxPools must be a whole number ≥ 1, got ${maxPools}`);
    this.concurrency = concurrency;
    this.queueLimit = queueLimit;
    this.maxPools = maxPools;
    this.maxCodeBytes = options.maxCodeBytes ?? 1024 * 1024;
    this.limits = resolveLimits({ stackBytes: WORKER_DEFAULT_STACK_BYTES, ...(options.limits ?? {}) });
    this.#policy = options.policy ?? {};
    this.#poolIdleMs = options.poolIdleMs ?? 60_000;
    this.#onRun = options.onRun;
    this.modules = [...(this.#policy.okBuiltinModules ?? RExec.okBuiltinModules)].sort();
    this.#defaultKey = poolKey(this.limits, this.modules);
    // The server's own pool starts now, so its threads are up before the first job.
    this.#pools.set(this.#defaultKey, { pool: this.#newPool(this.limits, this.modules), active: 0, lastUsed: Date.now() });
    this.#sweep = setInterval(() => this.#closeIdlePools(), Math.max(1000, Math.min(this.#poolIdleMs, 30_000)));
    this.#sweep.unref();
  }

  /** Jobs waiting for a thread. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#slots;
  }

  /** Pools alive (one per distinct set of limits in use). */
  get pools(): number {
    return this.#pools.size;
  }

  /** Whether {@link close} was called. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Run a trivial job once, so the default pool's threads and engine are up (readiness). */
  async warmUp(): Promise<void> {
    await this.#pools.get(this.#defaultKey)!.pool.run("0");
  }

  /**
   * Check and run one job. Resolves with `{ value, … }` or, when the guest
   * failed (threw, exited, hit a limit, was denied), with `{ error, … }`.
   * Rejects — the job was not run to an answer; all but the first are worth a
   * retry — with {@link InvalidJobError} (the job is malformed),
   * {@link QueueFullError}, {@link PoolsBusyError}, {@link ShuttingDownError},
   * `AbortError` (the caller's `signal`) or another `RExecError` (a pool
   * thread died).
   */
  async run(data: unknown, options: { signal?: AbortSignal } = {}): Promise<RunResult> {
    const job = checkJob(data, this.limits, this.maxCodeBytes, this.modules);
    return this.runChecked(job, options);
  }

  /**
   * {@link run} for a job already checked with {@link checkJob} against this
   * runner's limits. `timeoutMs`: a deadline from when the job gets a thread;
   * past it the run is stopped and answers a `TimeoutError` with
   * `limit: "jobTimeoutMs"` (a final outcome, like any limit).
   */
  async runChecked(job: Job, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<RunResult> {
    const { signal, timeoutMs } = options;
    if (this.#closing) throw new ShuttingDownError("the rexec service is shutting down; retry on another instance");
    if (signal?.aborted) throw new AbortError(signal.reason);
    const admitted = performance.now();
    await this.#admit(signal);
    const queuedMs = performance.now() - admitted;
    const controller = new AbortController();
    this.#running.add(controller);
    let entry: PoolEntry | undefined;
    let outcome = "value";
    let cpuMs = 0;
    try {
      entry = this.#poolFor(job.limits, job.modules);
      entry.active++;
      const deadline = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
      const runSignal = AbortSignal.any([controller.signal, ...(signal ? [signal] : []), ...(deadline ? [deadline] : [])]);
      try {
        const result = await entry.pool.run(job.code, {
          signal: runSignal,
          ...(job.filename === undefined ? {} : { filename: job.filename }),
          ...(job.language === undefined ? {} : { language: job.language }),
          ...(job.hasInput ? { input: job.input } : {}),
          ...(job.files === undefined ? {} : { files: job.files }),
        });
        cpuMs = result.stats.cpuMs;
        const stats: RunStats = { ...result.stats, queuedMs };
        const { stdout, stderr } = result.output;
        try {
          return { value: toJsonValue(result.value) ?? null, stdout, stderr, stats };
        } catch (error) {
          // A value JSON cannot carry (a cycle, too deep): the guest's outcome, with its output and stats.
          outcome = errorType(error);
          return { error: errorBody(error), stdout, stderr, stats };
        }
      } catch (error) {
        outcome = errorType(error);
        if (deadline?.aborted && !controller.signal.aborted && !signal?.aborted) {
          outcome = "TimeoutError";
          const error = { name: "TimeoutError", message: `the job ran longer than its deadline (jobTimeoutMs ${timeoutMs} ms); its thread was stopped`, limit: "jobTimeoutMs", limitValue: timeoutMs };
          return { error, stdout: "", stderr: "", stats: undefined };
        }
        if (controller.signal.aborted && !signal?.aborted) {
          outcome = "ShuttingDownError";
          throw new ShuttingDownError("the rexec service shut down while the job ran; it was cancelled");
        }
        if (!isGuestOutcome(error)) throw error;
        const carried = error as { output?: { stdout: string; stderr: string }; stats?: RunStats };
        const stats = carried.stats ? { ...carried.stats, queuedMs } : undefined;
        cpuMs = stats?.cpuMs ?? 0;
        return { error: errorBody(error), stdout: carried.output?.stdout ?? "", stderr: carried.output?.stderr ?? "", stats };
      }
    } catch (error) {
      if (outcome === "value") outcome = errorType(error);
      throw error;
    } finally {
      if (entry) {
        entry.active--;
        entry.lastUsed = Date.now();
      }
      this.#running.delete(controller);
      this.#release();
      this.#onRun?.({ outcome, durationMs: performance.now() - admitted, cpuMs });
    }
  }

  /** Wait for a free slot (FIFO), or refuse at once when the waiting line is full. */
  #admit(signal: AbortSignal | undefined): Promise<void> | void {
    if (this.#slots < this.concurrency) {
      this.#slots++;
      return;
    }
    if (this.#waiting.length >= this.queueLimit) {
      throw Object.assign(new QueueFullError(this.queueLimit), { message: `the rexec service's queue is full (queueLimit ${this.queueLimit} waiting jobs, ${this.concurrency} running); retry later` });
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(waiter);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(new AbortError(signal!.reason));
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** A run ended: its slot passes straight to the first waiting job, or tell close() that all is done. */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) next.resolve();
    else this.#slots--;
    if (this.#slots === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #newPool(limits: Limits, modules: readonly string[]): RExecPool {
    // queueLimit = size: admission above never lets more than `concurrency` runs reach a pool.
    return new RExecPool({ ...this.#policy, okBuiltinModules: modules, limits, size: this.concurrency, queueLimit: this.concurrency });
  }

  /** The pool of exactly these limits, made (evicting an idle one) when there is none. */
  #poolFor(limits: Limits, modules: readonly string[]): PoolEntry {
    const key = poolKey(limits, modules);
    const found = this.#pools.get(key);
    if (found) return found;
    if (this.#pools.size >= this.maxPools) {
      let oldest: [string, PoolEntry] | undefined;
      for (const item of this.#pools) {
        if (item[0] === this.#defaultKey || item[1].active > 0) continue;
        if (!oldest || item[1].lastUsed < oldest[1].lastUsed) oldest = item;
      }
      if (!oldest) throw new PoolsBusyError(`all ${this.maxPools} pools (one per distinct set of job limits) are busy; retry later, or send jobs with the server's limits`);
      this.#pools.delete(oldest[0]);
      void oldest[1].pool.close();
    }
    const entry: PoolEntry = { pool: this.#newPool(limits, modules), active: 0, lastUsed: Date.now() };
    this.#pools.set(key, entry);
    return entry;
  }

  #closeIdlePools(): void {
    const now = Date.now();
    for (const [key, entry] of this.#pools) {
      if (key === this.#defaultKey || entry.active > 0 || now - entry.lastUsed < this.#poolIdleMs) continue;
      this.#pools.delete(key);
      void entry.pool.close();
    }
  }

  /**
   * Stop accepting jobs. Waiting and running jobs finish, for at most
   * `timeoutMs` (default: no bound); then (or at once with `force`) those
   * still waiting are refused and those running are cancelled, both with
   * {@link ShuttingDownError}. Then the pools' threads exit.
   */
  close(options: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.#closing = true;
    this.#closed ??= this.#close(options.force === true, options.timeoutMs ?? Infinity);
    if (options.force) this.#cancelAll();
    return this.#closed;
  }

  async #close(force: boolean, timeoutMs: number): Promise<void> {
    clearInterval(this.#sweep);
    if (force) this.#cancelAll();
    if (this.#slots > 0) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      const bounded = Number.isFinite(timeoutMs) ? new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))) : idle;
      await Promise.race([idle, bounded]);
      clearTimeout(timer);
      this.#cancelAll();
      // Cancelled runs end promptly (their threads are terminated); wait for them.
      if (this.#slots > 0) await idle;
    }
    await Promise.all([...this.#pools.values()].map((entry) => entry.pool.close({ force: true })));
    this.#pools.clear();
  }

  #cancelAll(): void {
    for (const waiter of this.#waiting.splice(0)) waiter.reject(new ShuttingDownError("the rexec service shut down before the job started"));
    for (const controller of this.#running) controller.abort(new ShuttingDownError("shutting down"));
    if (this.#slots === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }
}
