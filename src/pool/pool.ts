/**
 * {@link RExecPool}: stateless guest runs across all cores.
 *
 * Built on piscina (a well-kept worker pool): it provides the fixed set of
 * threads, the bounded FIFO queue, `AbortSignal` cancellation (a queued run is
 * dropped; a running one has its thread terminated) and the replacement of
 * any thread that dies. rexec adds what is specific to guests: a fresh realm
 * per run (built ahead of time in each idle thread), host functions across the
 * thread boundary, typed errors, a wall-clock deadline per run, and per-run
 * accounting.
 *
 * @packageDocumentation
 */
import { availableParallelism } from "node:os";
import { MessageChannel, type ResourceLimits } from "node:worker_threads";
import { Piscina } from "piscina";
import { handled } from "../boundary/handled.js";
import { AbortError, CloneError, DisposedError, MemoryLimitError, RExecError, TimeoutError } from "../host/errors.js";

export { AbortError };
import { resolveLimits, type Limits } from "../host/limits.js";
import type { RExecOptions } from "../host/rexec.js";
import { makeLogger } from "../host/verbose.js";
import { checkSignal } from "../host/call-abort.js";
import { decodeValue, encodeValue, type Wire } from "../worker/codec.js";
import { buildWorkerConfig } from "../worker/config.js";
import { MemoryHooks } from "../loader/hooks/memory-hooks.js";
import { HostFunctionTable, HostLink, LINK_SIGNAL_BYTES, type HostCallMessage } from "../worker/link.js";
import { Watchdog } from "../worker/watchdog.js";
import { WORKER_DEFAULT_STACK_BYTES, poolScript, sharedEngine, workerResourceLimits } from "../worker/spawn.js";
import type { PoolTask, PoolTaskResult, PoolTaskStats } from "./pool-task.js";

/** Options of {@link RExecPool}: RExec options (minus `stdio`/`worker`), plus the pool's own. */
export interface RExecPoolOptions extends Omit<RExecOptions, "stdio"> {
  /** Number of worker threads (default `os.availableParallelism()`). */
  readonly size?: number;
  /**
   * Runs that may wait for a free thread (default `size * 16`). When the queue
   * is full, `run` rejects at once with {@link QueueFullError}: backpressure
   * the caller can act on, rather than unbounded memory.
   */
  readonly queueLimit?: number;
  /**
   * Deadline of one run in ms of its thread's running time (default
   * `limits.timeoutMs * 2 + 1000`); time the thread only waits for a host
   * function is not charged. See `WorkerModeOptions.wallTimeoutMs`.
   */
  readonly wallTimeoutMs?: number;
  /** Overrides of each thread's `resourceLimits`. */
  readonly resourceLimits?: ResourceLimits;
}

/** Options of one {@link RExecPool.run}. */
export interface PoolRunOptions {
  /** Cancels the run: a queued run is removed, a running one is stopped (its thread is replaced). */
  readonly signal?: AbortSignal;
  /** The file name guest stacks show (default `<eval>`); `.ts`/`.mts`/`.cts` makes the code TypeScript. */
  readonly filename?: string;
  /** `"ts"`: the code is TypeScript (default `"js"`, or `"ts"` for a `.ts` filename). */
  readonly language?: "js" | "ts";
  /**
   * Data for this run, copied into the guest as the global `input` (like a
   * function's argument; the name `input` is fixed). Data only: values
   * `RExec`'s `globals` accept, without functions (those go in `globals`).
   */
  readonly input?: unknown;
  /**
   * Globals of this run only, on top of the pool's own `globals` (a name in
   * both: this run's wins). Values are copied; functions become host
   * functions the guest can call, as with the pool's `globals`.
   */
  readonly globals?: Record<string, unknown>;
  /**
   * This run's own module files, by path (`{ "lib.js": "export const a = 1" }`;
   * `lib.js` and `/lib.js` both mean `/lib.js`): the run imports and requires
   * from them (a `MemoryHooks` of this run only, in place of the pool's hooks;
   * the pool's `r_open` policy still applies). Such a run gets a realm of its
   * own rather than the thread's prepared one. At most
   * {@link MAX_RUN_FILES} files of {@link MAX_RUN_FILE_BYTES} characters in all.
   */
  readonly files?: Readonly<Record<string, string>>;
}

/** Most files a run's {@link PoolRunOptions.files} may hold. */
export const MAX_RUN_FILES = 1000;
/** Most characters (UTF-16 units) of all of a run's files together, paths included. */
export const MAX_RUN_FILE_BYTES = 16 * 1024 * 1024;

const RUN_OPTIONS = new Set(["signal", "filename", "language", "input", "globals", "files"]);

/** Check a run's `files` (host data, but often a service client's): plain strings, bounded. */
function checkRunFiles(files: unknown): Record<string, string> | undefined {
  if (files === undefined) return undefined;
  if (typeof files !== "object" || files === null || Array.isArray(files)) throw new TypeError('run option "files" must be an object of { path: source text }');
  const entries = Object.entries(files as Record<string, unknown>);
  if (entries.length > MAX_RUN_FILES) throw new RangeError(`run option "files" holds ${entries.length} files; at most ${MAX_RUN_FILES}`);
  let size = 0;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [path, text] of entries) {
    if (typeof text !== "string") throw new TypeError(`run option "files": the content of ${JSON.stringify(path.slice(0, 64))} must be a string`);
    size += path.length + text.length;
    if (size > MAX_RUN_FILE_BYTES) throw new RangeError(`run option "files" is larger than ${MAX_RUN_FILE_BYTES} characters in all`);
    out[path] = text;
  }
  // The names as the run's MemoryHooks will take them (NUL, "..", outside the tree): refused here, before the job is queued.
  new MemoryHooks({ files: out });
  return out;
}
/** The rule of `RExec`'s `globals` names. */
const GLOBAL_NAME = /^[A-Za-z_$][\w$]*$/;

/** Accounting of one run. */
export type PoolRunStats = PoolTaskStats;

/** The outcome of one {@link RExecPool.run}. */
export interface PoolRunResult<T = unknown> {
  /** The completion value of the code, copied out (functions in it can no longer be called). */
  readonly value: T;
  /** CPU time, wall time and peak guest memory of the run. */
  readonly stats: PoolRunStats;
  /** What the guest wrote to its console/stdout/stderr. */
  readonly output: { readonly stdout: string; readonly stderr: string };
}

/** `run` was refused because the pool's queue is full. */
export class QueueFullError extends RExecError {
  constructor(
    /** The pool's `queueLimit`. */
    readonly queueLimit: number,
  ) {
    super(`the RExecPool queue is full (queueLimit ${queueLimit} waiting runs); retry later, or raise queueLimit or size`);
  }
}

/**
 * A pool of worker threads for stateless guest runs.
 *
 * ```ts
 * const pool = new RExecPool({ size: 4, queueLimit: 100, limits: { timeoutMs: 200 } });
 * const { value, stats } = await pool.run("6 * 7", { signal: AbortSignal.timeout(1000) });
 * await pool.close();
 * ```
 *
 * Every run gets a fresh realm: nothing one run does is visible to the next.
 * Host functions in `globals` work (sync and async, as in worker mode).
 */
export class RExecPool {
  /** Number of threads. */
  readonly size: number;
  /** Most runs that may wait for a thread. */
  readonly queueLimit: number;
  /** Limits of every run (a worker's default stack is larger than the main thread's). */
  readonly limits: Limits;
  /** Wall-clock deadline of one run in ms. */
  readonly wallTimeoutMs: number;

  readonly #piscina: Piscina<PoolTask, PoolTaskResult>;
  readonly #table = new HostFunctionTable();
  readonly #log: (line: string) => void;
  #closed = false;
  /** Each thread's V8 heap backstop, in MB (named in the error when a run hits it). */
  readonly #heapMb: number;
  /** Runs accepted and not yet finished (running or queued). */
  #inFlight = 0;

  constructor(options: RExecPoolOptions = {}) {
    if (typeof options !== "object" || options === null) throw new TypeError("RExecPool options must be an object");
    const { size = availableParallelism(), queueLimit, wallTimeoutMs, resourceLimits, ...rexecOptions } = options;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive whole number of threads, got ${size}`);
    const limit = queueLimit ?? size * 16;
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`queueLimit must be a whole number ≥ 0, got ${queueLimit}`);
    if ((rexecOptions as { worker?: unknown }).worker !== undefined) throw new TypeError("RExecPool always uses worker threads; do not pass `worker`");
    this.size = size;
    this.queueLimit = limit;
    this.limits = resolveLimits({ stackBytes: WORKER_DEFAULT_STACK_BYTES, ...(rexecOptions.limits ?? {}) });
    this.wallTimeoutMs = wallTimeoutMs ?? this.limits.timeoutMs * 2 + 1000;
    if (!Number.isFinite(this.wallTimeoutMs) || this.wallTimeoutMs < 1) throw new RangeError("wallTimeoutMs must be a positive number of milliseconds");
    this.#log = makeLogger(rexecOptions.verbose);
    const config = buildWorkerConfig(rexecOptions, this.limits, this.#table, undefined, this);
    const script = poolScript("../pool/pool-task");
    const threadLimits = workerResourceLimits(this.limits, resourceLimits);
    this.#heapMb = threadLimits.maxOldGenerationSizeMb ?? 0;
    this.#piscina = new Piscina<PoolTask, PoolTaskResult>({
      filename: script.filename,
      execArgv: script.execArgv,
      minThreads: size,
      maxThreads: size,
      // The bound is enforced in run(): piscina counts threads that are still
      // starting as queue capacity, which makes its own limit vary with timing.
      maxQueue: Infinity,
      concurrentTasksPerWorker: 1,
      // Threads wait for tasks without blocking their event loop, so an idle
      // thread can build its next realm meanwhile.
      atomics: "async",
      resourceLimits: threadLimits,
      // The process's compiled engine, so threads neither compile nor start cold (spawn.ts).
      workerData: { config, sharedEngine: sharedEngine(config.engine) },
    });
    // piscina reports a thread that died between runs as an 'error' event; with
    // no listener that would throw in the host. The thread is replaced anyway.
    this.#piscina.on("error", (error: Error) => this.#log(`pool: a worker failed between runs: ${error.message}`));
  }

  /** Runs waiting for a thread. */
  get queueSize(): number {
    return this.#piscina.queueSize;
  }

  /** Runs accepted and not yet finished (running or waiting). */
  get pending(): number {
    return this.#inFlight;
  }

  /**
   * Evaluate `code` in a fresh realm on a pool thread. Resolves to its
   * completion value and the run's stats; rejects with the same typed errors
   * as {@link RExec} (plus {@link QueueFullError} and {@link AbortError}).
   */
  run<T = unknown>(code: string, options: PoolRunOptions = {}): Promise<PoolRunResult<T>> {
    // Marked handled (boundary/handled.ts): a host that drops a run's promise does not die of its rejection.
    return handled(this.#run(code, options) as Promise<PoolRunResult<T>>);
  }

  async #run(code: string, options: PoolRunOptions): Promise<PoolRunResult> {
    if (typeof code !== "string") throw new TypeError(`code must be a string, got ${code === null ? "null" : typeof code}`);
    if (this.#closed) throw new DisposedError("this RExecPool has been closed");
    if (typeof options !== "object" || options === null) throw new TypeError("run options must be an object");
    for (const key of Object.keys(options)) {
      if (!RUN_OPTIONS.has(key)) throw new TypeError(`unknown run option "${key}"; known options: ${[...RUN_OPTIONS].join(", ")}`);
    }
    const { filename, language } = options;
    const files = checkRunFiles(options.files);
    const signal = checkSignal(options.signal);
    if (signal?.aborted) throw new AbortError(signal.reason);
    // This run's host functions beside the pool's; dropped when the run ends.
    const table = new HostFunctionTable(this.#table);
    const globals = encodeRunGlobals(options, table);
    // At most `size` running plus `queueLimit` waiting: beyond that, refuse at once.
    if (this.#inFlight >= this.size + this.queueLimit) throw new QueueFullError(this.queueLimit);
    this.#inFlight++;

    const channel = new MessageChannel();
    const reply = new MessageChannel();
    const shared = new SharedArrayBuffer(LINK_SIGNAL_BYTES);
    const signalWord = new Int32Array(shared);
    const deadline = new AbortController();
    let timedOut = false;

    // Deadline: charges the thread's running time from when the guest starts
    // (not while queued), not its waiting for host functions (watchdog.ts).
    const watchdog = new Watchdog(this.wallTimeoutMs, () => {
      timedOut = true;
      this.#log(`limit: wallTimeoutMs (${this.wallTimeoutMs}) exceeded; terminating the pool thread`);
      deadline.abort();
    });

    const link = new HostLink({
      table,
      post: (message) => channel.port1.postMessage(message),
      replyPort: reply.port1,
      signal: signalWord,
      importGuestFunction: deadFunction,
      guestChecks: { walkLimit: this.limits.resultBytes },
    });
    channel.port1.on("message", (message: HostCallMessage | { t: "started"; threadId: number }) => {
      if (message.t === "started") {
        // The thread running this job: its event loop's running time is what the watchdog charges.
        const thread = this.#piscina.threads.find((w) => w.threadId === message.threadId);
        watchdog.start(thread, signalWord);
      } else if (message.t === "hcall") link.handle(message);
    });

    const task: PoolTask = { code, filename, language, globals, ...(files ? { files } : {}), port: channel.port2, replyPort: reply.port2, signal: shared };
    try {
      const result = await this.#piscina.run(task, {
        signal: signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal,
        transferList: [channel.port2, reply.port2] as never,
      });
      const value = decodeValue(result.value, deadFunction, { walkLimit: this.limits.resultBytes });
      // What the guest wrote before it failed, and the run's stats, ride on the error (non-enumerable): a service reports them with it.
      if (!result.ok) throw value instanceof Error ? Object.defineProperties(value, { output: { value: result.output, configurable: true }, stats: { value: result.stats, configurable: true } }) : value;
      return { value, stats: result.stats, output: result.output };
    } catch (error) {
      throw this.#failure(error, timedOut, signal);
    } finally {
      this.#inFlight--;
      watchdog.stop();
      link.close();
      channel.port1.close();
      reply.port1.close();
    }
  }

  /** Turn what piscina rejected with into the error the caller should see. */
  #failure(error: unknown, timedOut: boolean, signal: AbortSignal | undefined): unknown {
    if (timedOut) {
      const wall = this.wallTimeoutMs;
      const timeout = new TimeoutError(this.limits.timeoutMs);
      Object.assign(timeout, { limit: "wallTimeoutMs", value: wall });
      timeout.message = `guest code ran longer than the pool's wall-clock deadline (wallTimeoutMs ${wall} ms; limits.timeoutMs is ${this.limits.timeoutMs} ms of CPU); its thread was terminated and replaced`;
      return timeout;
    }
    if (signal?.aborted) return new AbortError(signal.reason);
    if (error instanceof RExecError || !(error instanceof Error)) return error;
    // Errors of the pool machinery itself (not from the guest, which arrive typed).
    if (error.message === "Task queue is at limit") return new QueueFullError(this.queueLimit);
    // postMessage refused the task: something in the run's input or globals is not data (a symbol…).
    if (error.name === "DataCloneError") return new CloneError(`the run's input or globals could not be copied to the pool thread: ${error.message}`);
    if ((error as { code?: unknown }).code === "ERR_WORKER_OUT_OF_MEMORY") {
      const failure = new MemoryLimitError("memoryBytes", this.limits.memoryBytes);
      Object.assign(failure, { limit: "maxOldGenerationSizeMb", value: this.#heapMb });
      failure.message = `the pool thread's own heap reached its resourceLimits backstop (maxOldGenerationSizeMb ${this.#heapMb}) and the thread was replaced; raise resourceLimits or lower limits.resultBytes`;
      return failure;
    }
    if (error.name === "AbortError" && this.#closed) return new DisposedError("this RExecPool was closed before the run finished");
    if (error instanceof TypeError || error instanceof RangeError) return error;
    return new RExecError(`the pool thread running this job died (${error.message}); the pool replaced it`, { cause: error });
  }

  /**
   * Stop accepting runs and wait for queued and running ones to finish
   * (`force: true` cancels them instead). Then the threads exit.
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    this.#closed = true;
    return handled(this.#close(options.force === true));
  }

  async #close(force: boolean): Promise<void> {
    await this.#piscina.close({ force });
    await this.#piscina.destroy();
  }

  /** `await using pool = new RExecPool()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close({ force: true });
  }
}

/** Functions from a finished stateless run: their realm is gone. */
function deadFunction(_id: number, name: string): (...args: unknown[]) => Promise<never> {
  const label = name || "guestFunction";
  return {
    [label]: () => handled(Promise.reject(new DisposedError("the pool run that created this function has ended; runs are stateless"))),
  }[label]!;
}

/**
 * A run's `input` and `globals`, checked and encoded for the pool thread
 * (functions of `globals` registered in the run's `table`).
 */
function encodeRunGlobals(options: PoolRunOptions, table: HostFunctionTable): Wire | undefined {
  const hasInput = Object.hasOwn(options, "input");
  const given = options.globals;
  if (given === undefined && !hasInput) return undefined;
  if (given !== undefined && (typeof given !== "object" || given === null || Array.isArray(given))) {
    throw new TypeError("options.globals must be an object of { name: value | function }");
  }
  const names = given === undefined ? [] : Object.keys(given);
  for (const name of names) {
    if (!GLOBAL_NAME.test(name)) throw new TypeError(`options.globals: "${name.length > 64 ? `${name.slice(0, 64)}…` : name}" is not a valid global name`);
  }
  if (hasInput && names.includes("input")) throw new TypeError("pass the run's data as options.input or as options.globals.input, not both");
  const encoded: Record<string, Wire> = {};
  for (const name of names) encoded[name] = encodeValue(given![name], table.export);
  if (hasInput) {
    encoded.input = encodeValue(options.input, () => {
      throw new TypeError("options.input must be data (functions go in options.globals)");
    });
  }
  return encoded as unknown as Wire;
}