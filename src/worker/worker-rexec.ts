/**
 * Worker mode: {@link WorkerRExec} runs one guest realm in a worker thread
 * and gives the host the same API as {@link RExec}, every method async.
 *
 * Why a worker: an in-thread WebAssembly sandbox blocks the host's event loop
 * while guest code runs, and an engine fault or a memory-accounting gap would
 * hit the host process directly. In a worker the host keeps serving while a
 * guest spins, a wall-clock watchdog can kill what the engine's own interrupt
 * cannot reach (long native calls, ENGINE-FACTS fact 3), `resourceLimits` cap
 * the thread's own heap, and a large native stack lets guests recurse deeply
 * without corrupting the engine (fact 2).
 *
 * @packageDocumentation
 */
import { MessageChannel, Worker, type ResourceLimits } from "node:worker_threads";
import { handled } from "../boundary/handled.js";
import { AbortError, CloneError, DisposedError, MemoryLimitError, RExecError, TimeoutError } from "../host/errors.js";
import { checkSignal } from "../host/call-abort.js";
import { resolveLimits, type Limits } from "../host/limits.js";
import type { CallOptions, CapturedOutput, OutputTarget, RExecOptions } from "../host/rexec.js";
import { makeLogger } from "../host/verbose.js";
import { decodeValue, encodeValue, type Wire } from "./codec.js";
import { HostFunctionTable, HostLink, LINK_SIGNAL_BYTES } from "./link.js";
import { insideHostCallOf } from "../boundary/host-call-scope.js";
import { Watchdog } from "./watchdog.js";
import { buildWorkerConfig, type RExecClass } from "./config.js";

export type { RExecClass };
import { ABORT_SLOTS, FORWARDED_METHOD, type FromWorker, type ToWorker, type WorkerStartData } from "./protocol.js";
import { WORKER_DEFAULT_STACK_BYTES, sharedEngine, workerResourceLimits, workerScript } from "./spawn.js";

/** Settings of worker mode, given as `worker: { … }` instead of `worker: true`. */
export interface WorkerModeOptions {
  /**
   * Wall-clock deadline of one call in milliseconds (default
   * `limits.timeoutMs * 2 + 1000`). It is a backstop under the CPU budget the
   * engine enforces itself: it catches what the engine's interrupt cannot
   * (a long native call such as a huge `join`), by terminating the worker.
   * It charges every moment the worker thread runs — guest code, however it
   * was started (a call, a guest timer or promise job while the guest awaits a
   * host function) — and not the time the worker only waits (a host function
   * running, an async one pending, a guest timer; the realm's own
   * `limits.wallTimeMs` bounds that waiting). See watchdog.ts. Startup is not
   * counted. After it fires the call rejects with `TimeoutError` (`limit` is
   * `"wallTimeoutMs"`) and the instance is disposed.
   */
  readonly wallTimeoutMs?: number;
  /** Overrides of the worker's `resourceLimits` (default: see {@link workerResourceLimits}). */
  readonly resourceLimits?: ResourceLimits;
}

/** Options of {@link WorkerRExec}: those of {@link RExec}, with `worker` true or {@link WorkerModeOptions}. */
export interface WorkerRExecOptions extends RExecOptions {
  readonly worker?: boolean | WorkerModeOptions;
}

interface PendingCall {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly label: string;
}

/**
 * One guest realm in a worker thread, with {@link RExec}'s API (all methods
 * async). Usually made through `new RExec({ worker: true })`.
 *
 * - `globals`: data is copied to the worker; host functions stay on this
 *   thread and are called by message — sync ones too: the worker blocks until
 *   this thread has run the function, so the guest sees a plain value exactly
 *   as in-thread, and an async function's promise as a guest promise.
 * - Guest functions returned by a call are async host functions that call
 *   back into the worker by id. Calls run one at a time, as in-thread: one
 *   made while another is in flight waits for it — except a guest function
 *   called by a host function on behalf of the running call (a callback,
 *   also after the host function's own `await`s), which runs inside that call.
 * - No guest function arrives under a name host built-ins call implicitly
 *   (`then`, `toJSON`, `toString`, `valueOf`, …; such a property is left
 *   out), and a value too costly to walk as a tree is refused; see codec.ts.
 * - Every promise handed out (method calls, guest-function calls, calls
 *   rejected when the worker dies) is marked handled: a host that drops one
 *   does not crash; a host that awaits it sees the rejection.
 * - Errors arrive as the same typed classes (`GuestError`, `TimeoutError`…).
 * - `hooks`: any {@link RHooks} works; its methods run on this thread and the
 *   worker calls them by message, so module and file access is exactly what the
 *   hooks allow in-thread. A subclass's `r_open` runs on this thread the same way.
 * - A worker that dies (crash, heap backstop, wall-clock kill) rejects every
 *   pending call with a clear error, and the instance then reports
 *   `DisposedError`.
 */
export class WorkerRExec {
  /** The limits in force (defaults merged with `options.limits`; a worker's default stack is larger). */
  readonly limits: Limits;
  /** Wall-clock deadline of one call, in milliseconds (see {@link WorkerModeOptions.wallTimeoutMs}). */
  readonly wallTimeoutMs: number;

  readonly #worker: Worker;
  readonly #table = new HostFunctionTable();
  readonly #link: HostLink;
  readonly #log: (line: string) => void;
  readonly #stdout: (text: string) => void;
  readonly #stderr: (text: string) => void;
  readonly #calls = new Map<number, PendingCall>();
  readonly #released: number[] = [];
  readonly #registry = new FinalizationRegistry<number>((id) => this.#queueRelease(id));
  #seq = 0;
  #ready = false;
  #startError: unknown;
  #deathReason: string | undefined;
  #output: CapturedOutput = { stdout: "", stderr: "" };
  /** Host calls in flight (the worker is kept referenced meanwhile). */
  #hostBusy = 0;
  readonly #watchdog: Watchdog;
  readonly #signal: Int32Array;
  /** Shared with the worker: seqs of calls the host aborted (see protocol.ts). */
  readonly #abortSlots = new Int32Array(new SharedArrayBuffer(4 * ABORT_SLOTS));
  readonly #resourceLimits: ResourceLimits;

  /**
   * @param options - {@link RExec} options, plus `worker`.
   * @param hostClass - the class the caller constructed (`new.target` in RExec's
   *   constructor): its static policy fields and any `r_open` override apply in the worker.
   */
  /** The RExec class (or subclass) this instance stands for; `instanceof` answers by it. */
  readonly hostClass: RExecClass | undefined;

  constructor(options: WorkerRExecOptions = {}, hostClass?: RExecClass) {
    if (typeof options !== "object" || options === null) throw new TypeError("RExec options must be an object");
    const mode: WorkerModeOptions = typeof options.worker === "object" && options.worker !== null ? options.worker : {};
    const given = options.limits ?? {};
    // A worker has a 64 MB native stack, so the guest may recurse deeper than on the main thread.
    this.limits = resolveLimits({ stackBytes: WORKER_DEFAULT_STACK_BYTES, ...given });
    this.wallTimeoutMs = mode.wallTimeoutMs ?? this.limits.timeoutMs * 2 + 1000;
    if (!Number.isFinite(this.wallTimeoutMs) || this.wallTimeoutMs < 1) throw new RangeError("worker.wallTimeoutMs must be a positive number of milliseconds");
    this.#log = makeLogger(options.verbose);
    this.#stdout = toWriter(options.stdio?.stdout ?? process.stdout);
    this.#stderr = toWriter(options.stdio?.stderr ?? process.stderr);

    this.hostClass = hostClass;
    const config = buildWorkerConfig(options, this.limits, this.#table, hostClass, this);
    const signal = new SharedArrayBuffer(LINK_SIGNAL_BYTES);
    this.#signal = new Int32Array(signal);
    this.#watchdog = new Watchdog(this.wallTimeoutMs, () => this.#onClock());
    const reply = new MessageChannel();
    this.#link = new HostLink({
      table: this.#table,
      post: (message) => this.#post(message),
      replyPort: reply.port1,
      signal: this.#signal,
      importGuestFunction: (id, name) => this.#guestFunction(id, name),
      guestChecks: { walkLimit: this.limits.resultBytes },
      onHostBusy: (delta) => {
        this.#hostBusy += delta;
        this.#updateClock();
      },
      log: this.#log,
    });
    const startData: WorkerStartData = { config, replyPort: reply.port2, signal, abortSlots: this.#abortSlots.buffer as SharedArrayBuffer };
    this.#resourceLimits = workerResourceLimits(this.limits, mode.resourceLimits);
    this.#worker = new Worker(workerScript("./worker-entry"), {
      workerData: { ...startData, sharedEngine: sharedEngine(config.engine) },
      transferList: [reply.port2],
      resourceLimits: this.#resourceLimits,
      stdout: false,
      stderr: false,
    });
    this.#worker.on("message", (message: FromWorker) => this.#onMessage(message));
    this.#worker.on("error", (error) => this.#onDeath(error));
    this.#worker.on("exit", (code) => this.#onDeath(undefined, code));
    this.#worker.on("messageerror", (error) => {
      // A message that could not be deserialized: fail the oldest call with it.
      const [first] = this.#calls.keys();
      if (first !== undefined) this.#settle(first, false, new CloneError(`a value could not cross the worker boundary: ${error.message}`));
    });
    this.#worker.unref();

    // Every method of the host's class named like the seed's API is forwarded,
    // so methods added to RExec later work in worker mode without changes here.
    for (let proto = hostClass?.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const name of Object.getOwnPropertyNames(proto)) {
        if (!FORWARDED_METHOD.test(name) || name in this) continue;
        Object.defineProperty(this, name, { value: (...args: unknown[]) => this.invoke(name, ...args), configurable: true, writable: true });
      }
    }
  }

  // ---------------------------------------------------------------------------
  // Messages

  #post(message: ToWorker): void {
    if (this.#deathReason === undefined) this.#worker.postMessage(message);
  }

  #onMessage(message: FromWorker): void {
    switch (message.t) {
      case "ready":
        this.#ready = true;
        this.#updateClock();
        return;
      case "startError":
        try {
          this.#startError = decodeValue(message.error, (id, name) => this.#guestFunction(id, name), this.#guestChecks);
        } catch (error) {
          this.#startError = error;
        }
        for (const seq of [...this.#calls.keys()]) this.#settle(seq, false, this.#startError);
        return;
      case "hcall":
        this.#link.handle(message);
        return;
      case "out":
        (message.stream === "stderr" ? this.#stderr : this.#stdout)(message.text);
        return;
      case "log":
        this.#log(message.line);
        return;
      case "result": {
        if (message.output) this.#output = message.output;
        let value: unknown;
        try {
          value = decodeValue(message.value, (id, name) => this.#guestFunction(id, name), this.#guestChecks);
        } catch (error) {
          this.#settle(message.seq, false, error);
          return;
        }
        this.#settle(message.seq, message.ok, value);
        return;
      }
    }
  }

  #settle(seq: number, ok: boolean, value: unknown): void {
    const call = this.#calls.get(seq);
    if (!call) return;
    this.#calls.delete(seq);
    // Progress: the next call starts with a fresh wall clock.
    this.#watchdog.stop();
    this.#updateClock();
    (ok ? call.resolve : call.reject)(value);
  }

  /** Checks on everything guest-derived that arrives from the worker (see codec.ts). */
  get #guestChecks() {
    return { walkLimit: this.limits.resultBytes };
  }

  /** Every promise handed out is marked handled (boundary/handled.ts): a host that drops one does not die of it. */
  #send(message: ToWorker & { seq: number }, label: string): Promise<unknown> {
    if (this.#deathReason !== undefined) return handled(Promise.reject(new DisposedError(this.#deathReason)));
    if (this.#startError !== undefined) return handled(Promise.reject(this.#startError));
    return handled(new Promise((resolve, reject) => {
      this.#calls.set(message.seq, { resolve, reject, label });
      try {
        this.#worker.postMessage(message);
      } catch (error) {
        this.#calls.delete(message.seq);
        reject(new CloneError(`the arguments of ${label} could not be copied to the worker: ${error instanceof Error ? error.message : String(error)}`));
        return;
      }
      this.#updateClock();
    }));
  }

  /**
   * Call a method of the worker's RExec by name (`r_eval`, `r_import`, …);
   * arguments and result are copied, functions proxied. Every forwarded
   * method is this with its name.
   */
  invoke(method: string, ...args: unknown[]): Promise<unknown> {
    if (!FORWARDED_METHOD.test(method)) return handled(Promise.reject(new TypeError(`${method} is not a method worker mode forwards`)));
    let wire: Wire;
    let signal: AbortSignal | undefined;
    try {
      // An AbortSignal stays on this thread: the worker gets a flag, and an "abort" when it fires.
      signal = takeSignal(args);
      if (signal?.aborted) throw new AbortError(signal.reason);
      wire = encodeValue(args, this.#table.export);
    } catch (error) {
      return handled(Promise.reject(error));
    }
    const seq = ++this.#seq;
    const result = this.#send({ t: "call", seq, method, args: wire, abortable: signal !== undefined }, method);
    if (!signal) return result;
    const onAbort = () => {
      // Read by the worker at its next engine poll, even while the guest spins (its event loop cannot run).
      Atomics.store(this.#abortSlots, seq % ABORT_SLOTS, seq);
      // Read when its event loop runs: a queued call, or a guest waiting for a timer or host call.
      this.#post({ t: "abort", seq });
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const done = () => signal.removeEventListener("abort", onAbort);
    return handled(result.then(
      (value) => {
        done();
        if (signal.aborted) throw new AbortError(signal.reason);
        return value;
      },
      (error: unknown) => {
        done();
        if (!signal.aborted) throw error;
        if (this.alive) throw new AbortError(signal.reason);
        throw new AbortError(signal.reason, ` and the sandbox did not survive it: ${error instanceof Error ? error.message : "it failed"}`);
      },
    ));
  }

  /** The host-side callable of a guest function in the worker: async, called by id. */
  #guestFunction(id: number, name: string): (...args: unknown[]) => Promise<unknown> {
    const label = name || "guestFunction";
    const fn = {
      [label]: (...args: unknown[]): Promise<unknown> => {
        let wire: Wire;
        try {
          wire = encodeValue(args, this.#table.export);
        } catch (error) {
          return handled(Promise.reject(error));
        }
        // Called by one of this instance's host functions, on behalf of the
        // running call: it must run inside that call (see boundary/host-call-scope.ts).
        const nested = insideHostCallOf(this.#link);
        return this.#send({ t: "callFn", seq: ++this.#seq, fid: id, args: wire, nested }, label);
      },
    }[label]!;
    this.#registry.register(fn, id);
    return fn;
  }

  #queueRelease(id: number): void {
    this.#released.push(id);
    // Batched: one message per burst of collections.
    if (this.#released.length === 1) {
      setImmediate(() => {
        const ids = this.#released.splice(0);
        if (ids.length > 0) this.#post({ t: "release", ids });
      }).unref();
    }
  }

  // ---------------------------------------------------------------------------
  // Wall clock and worker death

  /** Charge the worker's running time while a call is in flight and the worker has started (see watchdog.ts). */
  #updateClock(): void {
    const busy = this.#calls.size > 0 || this.#hostBusy > 0;
    // Keep the process alive only while something is in flight, as an in-thread RExec would.
    if (this.#deathReason === undefined) busy ? this.#worker.ref() : this.#worker.unref();
    if (this.#deathReason !== undefined || !this.#ready || this.#calls.size === 0) {
      this.#watchdog.stop();
      return;
    }
    if (!this.#watchdog.running) this.#watchdog.start(this.#worker, this.#signal);
  }

  #onClock(): void {
    if (this.#deathReason !== undefined) return;
    const wall = this.wallTimeoutMs;
    this.#log(`limit: wallTimeoutMs (${wall}) exceeded; terminating the worker`);
    const error = new TimeoutError(this.limits.timeoutMs);
    Object.assign(error, { limit: "wallTimeoutMs", value: wall });
    error.message = `guest code ran longer than the worker's wall-clock deadline (wallTimeoutMs ${wall} ms; limits.timeoutMs is ${this.limits.timeoutMs} ms of CPU); the worker was terminated and this RExec is now disposed; raise limits.timeoutMs or worker.wallTimeoutMs to allow longer runs`;
    const [first] = this.#calls.keys();
    if (first !== undefined) this.#settle(first, false, error);
    this.#kill("the worker was terminated after a wall-clock timeout");
  }

  #kill(reason: string): void {
    if (this.#deathReason !== undefined) return;
    this.#deathReason = reason;
    this.#link.close();
    this.#watchdog.stop();
    for (const seq of [...this.#calls.keys()]) this.#settle(seq, false, new DisposedError(reason));
    handled(this.#worker.terminate());
  }

  #onDeath(error: Error | undefined, exitCode?: number): void {
    if (this.#deathReason !== undefined) return;
    let reason: string;
    let failure: Error;
    if ((error as { code?: unknown } | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY") {
      reason = "the worker ran out of heap (its resourceLimits backstop) and was terminated";
      // What the worker was given; `worker.resourceLimits` reads 0 once it has exited.
      const heapMb = this.#resourceLimits.maxOldGenerationSizeMb ?? 0;
      failure = new MemoryLimitError("memoryBytes", this.limits.memoryBytes);
      Object.assign(failure, { limit: "maxOldGenerationSizeMb", value: heapMb });
      failure.message = `the worker's own heap reached its resourceLimits backstop (maxOldGenerationSizeMb ${heapMb}) and the worker was terminated; this RExec is now disposed; raise worker.resourceLimits or lower limits.resultBytes`;
    } else {
      const what = error ? `crashed: ${error.message || String(error)}` : `exited with code ${exitCode}`;
      reason = `the worker running this sandbox ${what}`;
      failure = new RExecError(`${reason}; this RExec is now disposed`, { cause: error });
    }
    this.#log(`worker: ${reason}`);
    const [first] = this.#calls.keys();
    if (first !== undefined) this.#settle(first, false, failure);
    this.#kill(reason);
  }

  // ---------------------------------------------------------------------------
  // Public API (the forwarded methods of RExec)

  /** {@link RExec.r_eval} in the worker. */
  r_eval<T = unknown>(code: string, options?: CallOptions): Promise<T> {
    return this.invoke("r_eval", code, options) as Promise<T>;
  }

  /** {@link RExec.r_exec} in the worker. */
  r_exec(code: string, options?: CallOptions): Promise<void> {
    return handled(this.invoke("r_exec", code, options).then(() => undefined));
  }

  /** {@link RExec.s_eval} in the worker; guest output is written to `stdio` on this thread. */
  s_eval<T = unknown>(code: string, options?: CallOptions): Promise<T> {
    return this.invoke("s_eval", code, options) as Promise<T>;
  }

  /** {@link RExec.s_exec} in the worker; guest output is written to `stdio` on this thread. */
  s_exec(code: string, options?: CallOptions): Promise<void> {
    return handled(this.invoke("s_exec", code, options).then(() => undefined));
  }

  /** `r_execfile` in the worker (the file is found through the hooks, on this thread). */
  r_execfile(path: string, ...rest: unknown[]): Promise<unknown> {
    return this.invoke("r_execfile", path, ...rest);
  }

  /** `r_import` in the worker: the namespace's values are copied, its functions callable (async). */
  r_import<T = Record<string, unknown>>(specifier: string, ...rest: unknown[]): Promise<T> {
    return this.invoke("r_import", specifier, ...rest) as Promise<T>;
  }

  /** `r_reload` in the worker. */
  r_reload<T = Record<string, unknown>>(specifier: string, ...rest: unknown[]): Promise<T> {
    return this.invoke("r_reload", specifier, ...rest) as Promise<T>;
  }

  /** `r_unload` in the worker (async here, unlike in-thread). */
  r_unload(specifier: string, ...rest: unknown[]): Promise<unknown> {
    return this.invoke("r_unload", specifier, ...rest);
  }

  /** camelCase alias of {@link WorkerRExec.r_eval}. */
  eval<T = unknown>(code: string, options?: CallOptions): Promise<T> {
    return this.r_eval<T>(code, options);
  }

  /** camelCase alias of {@link WorkerRExec.r_exec}. */
  exec(code: string, options?: CallOptions): Promise<void> {
    return this.r_exec(code, options);
  }

  /** Output the guest wrote during the most recent r_* call. */
  get output(): CapturedOutput {
    return { ...this.#output };
  }

  /** True until {@link dispose}, or until the worker died. */
  get alive(): boolean {
    return this.#deathReason === undefined && this.#startError === undefined;
  }

  /** Terminate the worker and free the realm. Idempotent; later calls reject with `DisposedError`. */
  dispose(): void {
    this.#kill("dispose() was called");
  }

  /** `using rx = new RExec({ worker: true })`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** `await using`: also waits until the worker thread has exited. */
  [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
    return handled(this.#worker.terminate().then(() => undefined));
  }
}

function toWriter(target: OutputTarget): (text: string) => void {
  if (typeof target === "function") return target;
  if (target && typeof target.write === "function") return (text) => void target.write(text);
  throw new TypeError("stdio.stdout/stderr must be a writable stream or a function (text: string) => void");
}

/**
 * Take the AbortSignal out of a call's options argument (the second one of
 * every forwarded method): it cannot cross the thread, and stays here.
 */
function takeSignal(args: unknown[]): AbortSignal | undefined {
  const options = args[1];
  if (typeof options !== "object" || options === null || !("signal" in options)) return undefined;
  const { signal, ...rest } = options as { signal?: unknown };
  args[1] = rest;
  return checkSignal(signal);
}
