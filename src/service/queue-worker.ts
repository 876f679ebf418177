/**
 * `rexec worker`: consume guest jobs from a BullMQ queue on Redis and run
 * them in this process's pool. Any number of worker processes, on any number
 * of machines, may share one queue.
 *
 * Job data is the body of `POST /run` (`{ code, input?, limits?, filename?,
 * language? }`); the job's return value is the answer `{ value, stdout,
 * stderr, stats }` or `{ error, stdout, stderr, stats }`.
 *
 * Invariants:
 * - A guest's own outcome (it threw, exited, hit a limit, was denied) is final:
 *   it is stored as the job's result (or, with `failOnGuestError`, fails the
 *   job with BullMQ's `UnrecoverableError`), so a guest that hit a limit is
 *   never run again. Malformed job data fails with `UnrecoverableError` too.
 *   Only failures of the service itself (a pool thread died, shutdown) are
 *   thrown as ordinary errors, which BullMQ retries up to the job's `attempts`.
 * - Guests run in worker threads, so this process's event loop keeps renewing
 *   job locks however long a guest computes; a job is recovered by another
 *   worker (BullMQ's stalled-job check) only when this process dies or hangs.
 * - Every job has a deadline derived from its limits ({@link jobTimeoutMs}).
 *
 * @packageDocumentation
 */
import { availableParallelism, hostname } from "node:os";
import { UnrecoverableError, Worker, type ConnectionOptions, type Job as BullJob } from "bullmq";
import type { Limits } from "../host/limits.js";
import { checkJob, InvalidJobError, jsonFitsIn, type Job } from "./job.js";
import type { RunResult } from "./result.js";
import { PoolsBusyError, ServiceRunner, type RunnerOptions } from "./runner.js";

/** Largest job data unless configured (JSON characters; `rexec serve`'s default body limit). */
export const DEFAULT_MAX_JOB_BYTES = 1024 * 1024;

/** How long {@link QueueWorker.close} waits for BullMQ's own close (Redis round trips) before giving up on it. */
const REDIS_CLOSE_MS = 2000;

/** The queue's name unless configured. */
export const DEFAULT_QUEUE = "rexec";

/** Options of {@link startWorker}. */
export interface QueueWorkerOptions extends RunnerOptions {
  /** Redis: a URL (`redis://host:6379/0`, `rediss://…`) or BullMQ connection options. */
  readonly connection: string | ConnectionOptions;
  /** Queue name (default `"rexec"`). */
  readonly queue?: string;
  /** BullMQ key prefix (default BullMQ's, `"bull"`). */
  readonly prefix?: string;
  /** Worker name stored on the jobs it processes (default `rexec@<hostname>:<pid>`). */
  readonly name?: string;
  /**
   * How long a job's lock lasts without renewal (default 30 000 ms): after a
   * worker process dies, its jobs return to the queue within about this plus
   * `stalledIntervalMs`.
   */
  readonly lockDurationMs?: number;
  /** How often this worker looks for stalled jobs of dead workers (default 30 000 ms). */
  readonly stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead worker before it fails (default 1, BullMQ's). */
  readonly maxStalledCount?: number;
  /** A job's deadline in ms from when it gets a thread (default: {@link jobTimeoutMs} of its limits). */
  readonly jobTimeoutMs?: number;
  /**
   * Jobs taken from the queue beyond the threads (default: as many as
   * threads), so the next job's Redis round trips overlap the running one.
   * A prefetched job waits in this process (its lock renewed); 0 takes a job
   * only when a thread is free.
   */
  readonly prefetch?: number;
  /** Fail the job (`UnrecoverableError`, no retry) when the guest fails, instead of storing `{ error }` as its result. */
  readonly failOnGuestError?: boolean;
  /**
   * Largest job data, in JSON characters (default 1 Mi, as `rexec serve`'s
   * body limit): `input` included. A larger job fails without running
   * (`UnrecoverableError`).
   */
  readonly maxJobBytes?: number;
  /**
   * How long {@link startWorker} waits for Redis before it fails (default
   * 30 000 ms). Once started, the worker rides out Redis going away and
   * reconnects by itself.
   */
  readonly connectTimeoutMs?: number;
  /** Called when BullMQ or Redis reports an error (default: ignored; the worker reconnects by itself). */
  readonly onError?: (error: Error) => void;
}

/** A running queue worker. */
export interface QueueWorker {
  /** The BullMQ worker. */
  readonly worker: Worker;
  readonly runner: ServiceRunner;
  /** The queue consumed. */
  readonly queue: string;
  /**
   * Stop taking jobs; let running ones finish for up to `timeoutMs` (default
   * 10 000); then leave the rest to BullMQ's stalled-job recovery (another
   * worker runs them) and stop their threads.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * The deadline of a job with these limits: the pool's deadline for the
 * guest's running time (`timeoutMs * 2 + 1000`), plus `wallTimeMs` of waiting
 * (timers, host calls), plus a second for set-up.
 */
export function jobTimeoutMs(limits: Limits): number {
  return limits.timeoutMs * 2 + 1000 + limits.wallTimeMs + 1000;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * What is wrong with a Redis URL, or undefined if nothing. ioredis takes a
 * malformed one (no host, port 99999, "[zz") without complaint and then fails
 * with "Cannot read properties of undefined" or connects to localhost.
 */
export function redisUrlProblem(url: string): string | undefined {
  if (!/^rediss?:\/\//i.test(url)) return "must be a redis:// or rediss:// URL";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a valid URL (redis://[user:password@]host[:port][/db])";
  }
  if (parsed.hostname === "") return "names no host (redis://host[:port][/db])";
  if (!/^(\/\d*)?$/.test(parsed.pathname)) return "has a database that is not a number (redis://host:port/0)";
  return undefined;
}

/**
 * Disconnect the worker's Redis clients outright (ioredis: no reconnecting
 * after), when BullMQ's own close cannot finish: a client left reconnecting
 * would keep the process alive after close().
 */
function dropConnections(worker: Worker): void {
  const backend = worker.getBackend();
  // Not awaited: a client still (re)connecting resolves later, and is disconnected then.
  for (const client of [backend.client, backend.blockingClient]) void client?.then((c) => c.disconnect(), () => {});
}

/** How long a job whose limits need a pool while all pools are busy waits for one before it fails (retryable). */
const POOLS_BUSY_WAIT_MS = 60_000;

/**
 * Run, waiting (with backoff) while every pool is busy with jobs of other
 * limits: that is this worker's momentary state, not the job's fault, and
 * under BullMQ's default of one attempt failing at once would lose the job.
 * Job locks keep being renewed meanwhile (the event loop is free).
 */
async function runWhenPoolFree<T>(run: () => Promise<T>, waitMs: number, signal: AbortSignal | undefined): Promise<T> {
  const until = performance.now() + waitMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof PoolsBusyError) || signal?.aborted || performance.now() + delay > until) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** `redis://…` → BullMQ connection options (BullMQ parses the URL). */
function connectionOf(connection: string | ConnectionOptions): ConnectionOptions {
  if (typeof connection !== "string") return connection;
  const problem = redisUrlProblem(connection);
  // The URL itself is not quoted: it may hold a password.
  if (problem !== undefined) throw new TypeError(`the Redis connection URL ${problem}`);
  // Workers block on Redis commands: BullMQ requires maxRetriesPerRequest null.
  return { url: connection, maxRetriesPerRequest: null };
}

/** What {@link createProcessor} needs of a runner. */
export type JobRunner = Pick<ServiceRunner, "limits" | "maxCodeBytes" | "modules" | "runChecked">;

/**
 * The BullMQ processor of rexec jobs: checks the job, runs it under its
 * deadline, and sorts the outcome — a guest's failure is returned (or, with
 * `failOnGuestError`, thrown as `UnrecoverableError`), malformed data is
 * thrown as `UnrecoverableError`, and only the service's own failures are
 * thrown as retryable errors.
 */
export function createProcessor(runner: JobRunner, options: { jobTimeoutMs?: number; failOnGuestError?: boolean; maxJobBytes?: number; busyWaitMs?: number } = {}): (job: BullJob, token?: string, signal?: AbortSignal) => Promise<RunResult> {
  const { jobTimeoutMs: fixedTimeout, failOnGuestError = false, maxJobBytes = DEFAULT_MAX_JOB_BYTES, busyWaitMs = POOLS_BUSY_WAIT_MS } = options;
  return async (job, _token, signal) => {
    // The HTTP body limit bounds a POST /run; nothing bounds what a producer puts on the queue.
    if (!jsonFitsIn(job.data, maxJobBytes)) throw new UnrecoverableError(`invalid rexec job: its data is more than ${maxJobBytes} characters of JSON (the worker's maxJobBytes / --max-job-size)`);
    let checked: Job;
    try {
      checked = checkJob(job.data, runner.limits, runner.maxCodeBytes, runner.modules);
    } catch (error) {
      if (error instanceof InvalidJobError) throw new UnrecoverableError(`invalid rexec job: ${error.message}`);
      throw error;
    }
    // The deadline runs from when the job gets a thread (not while it waits behind a prefetched one).
    const timeoutMs = fixedTimeout ?? jobTimeoutMs(checked.limits);
    const result = await runWhenPoolFree(() => runner.runChecked(checked, { ...(signal ? { signal } : {}), timeoutMs }), busyWaitMs, signal);
    // A guest's failure (a deadline hit included) is final: the same job would fail again.
    if ("error" in result && failOnGuestError) throw new UnrecoverableError(`${result.error.name}: ${result.error.message}`);
    // Anything thrown above is the service's own failure (thread died, shutting down): BullMQ retries it.
    return result;
  };
}

/**
 * Start consuming jobs (`rexec worker`'s library form). Resolves once the
 * worker is connected to Redis.
 *
 * ```ts
 * const w = await startWorker({ connection: "redis://127.0.0.1:6379", concurrency: 4 });
 * process.once("SIGTERM", () => w.close());
 * // elsewhere: await new Queue("rexec", { connection }).add("run", { code: "1 + 1" }, { attempts: 3 });
 * ```
 */
export async function startWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const { connection, queue = DEFAULT_QUEUE, prefix, name, lockDurationMs, stalledIntervalMs, maxStalledCount, jobTimeoutMs: fixedTimeout, failOnGuestError = false, maxJobBytes = DEFAULT_MAX_JOB_BYTES, onError, prefetch, connectTimeoutMs = 30_000, ...runnerOptions } = options;
  if (!Number.isSafeInteger(connectTimeoutMs) || connectTimeoutMs < 1) throw new RangeError(`connectTimeoutMs must be a positive number of ms, got ${String(connectTimeoutMs)}`);
  if (!Number.isSafeInteger(maxJobBytes) || maxJobBytes < 1) throw new RangeError(`maxJobBytes must be a positive number of characters, got ${String(maxJobBytes)}`);
  if (prefetch !== undefined && (!Number.isInteger(prefetch) || prefetch < 0)) throw new RangeError(`prefetch must be a whole number ≥ 0, got ${prefetch}`);
  // BullMQ hands this process threads + prefetch jobs at once; the runner holds the prefetched ones.
  const threads = runnerOptions.concurrency ?? availableParallelism();
  const held = prefetch ?? threads;
  const runner = new ServiceRunner({ ...runnerOptions, concurrency: threads, queueLimit: held });
  let active = 0;
  let idle: (() => void) | undefined;
  const handle = createProcessor(runner, { jobTimeoutMs: fixedTimeout, failOnGuestError, maxJobBytes });
  const processor = async (job: BullJob, token?: string, signal?: AbortSignal): Promise<RunResult> => {
    active++;
    try {
      return await handle(job, token, signal);
    } finally {
      active--;
      if (active === 0) idle?.();
    }
  };

  const worker = new Worker(queue, processor, {
    connection: connectionOf(connection),
    ...(prefix === undefined ? {} : { prefix }),
    name: name ?? `rexec@${hostname()}:${process.pid}`,
    concurrency: threads + held,
    ...(lockDurationMs === undefined ? {} : { lockDuration: lockDurationMs }),
    ...(stalledIntervalMs === undefined ? {} : { stalledInterval: stalledIntervalMs }),
    ...(maxStalledCount === undefined ? {} : { maxStalledCount }),
    autorun: false,
  });
  // Without a listener an 'error' event would throw; BullMQ reconnects by itself.
  let lastError: Error | undefined;
  worker.on("error", (error) => {
    lastError = error;
    onError?.(error);
  });
  // Unreachable Redis: BullMQ retries for ever; a worker that never starts must say so and stop.
  let timer: NodeJS.Timeout | undefined;
  const ready = await Promise.race([
    worker.waitUntilReady().then(() => true, (error: unknown) => (lastError = error instanceof Error ? error : lastError, false)),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), connectTimeoutMs))),
  ]).finally(() => clearTimeout(timer));
  if (!ready) {
    // Closed by force: there is no Redis to hand anything back to, and the threads must not outlive the failure.
    await worker.close(true).catch(() => {});
    await runner.close({ force: true });
    throw new Error(`could not connect to Redis within ${connectTimeoutMs} ms${lastError ? ` (${lastError.message.slice(0, 200)})` : ""}`);
  }
  void worker.run().catch((error: unknown) => onError?.(error instanceof Error ? error : new Error(String(error))));

  let closing: Promise<void> | undefined;
  return {
    worker,
    runner,
    queue,
    close({ timeoutMs = 10_000 } = {}) {
      closing ??= (async () => {
        // Take no more jobs; the running ones go on.
        await worker.pause(true).catch(() => {});
        let finished = active === 0;
        if (!finished) {
          let timer: NodeJS.Timeout | undefined;
          finished = await Promise.race([
            new Promise<boolean>((resolve) => (idle = () => resolve(true))),
            new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
          ]);
          clearTimeout(timer);
        }
        // Unfinished jobs keep their (now unrenewed) locks: BullMQ's stalled check gives them to another worker.
        // Without Redis a graceful close waits for it for ever (seen: SIGTERM with Redis down never
        // exited); nothing can be handed back then anyway, so close at once.
        const connected = await Promise.race([worker.getBackend().client.then((client) => client.status === "ready", () => false), sleep(1000).then(() => false)]);
        const closed = worker.close(!finished || !connected).then(() => true, () => true);
        // A Redis that hangs (a partition: the connection looks ready, nothing answers) never
        // answers BullMQ's goodbye either: stop waiting after a bound and drop the connection.
        if (!(await Promise.race([closed, sleep(REDIS_CLOSE_MS).then(() => false)]))) dropConnections(worker);
        await runner.close({ force: true });
      })();
      return closing;
    },
  };
}
