/**
 * The page side of a sandbox that runs in a dedicated Web Worker: the
 * browser's counterpart of Node worker mode (`{ worker: true }`).
 *
 * Invariant: a guest can never freeze the page. Guest code runs only in the
 * worker; the page keeps a wall-clock deadline per call
 * ({@link WebWorkerRExecOptions.wallTimeoutMs}), and when it passes, the page
 * terminates the worker — which stops it whatever it is doing, even a native
 * call the engine's own CPU limit cannot interrupt — rejects the call with
 * {@link TimeoutError} (`limit: "wallTimeoutMs"`) and disposes this instance.
 * The engine's CPU limit (`limits.timeoutMs`) normally ends a runaway guest
 * first, with the sandbox still usable; the deadline is the backstop.
 *
 * The deadline charges the time the worker is busy on page calls, not the time
 * it waits for the page's own host functions (they run on the page).
 *
 * @packageDocumentation
 */
import { AbortError, DisposedError, TimeoutError } from "../host/errors.js";
import { DEFAULT_LIMITS } from "../host/limits.js";
import { encodeValue } from "../worker/codec.js";
import { Link, type LinkMessage, type Reply, type RunStats } from "./link.js";
import type { WebWorkerSandboxOptions } from "./protocol.js";

/** The few DOM Worker members used here (the project's TypeScript lib has no DOM). */
interface BrowserWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((event: { data: LinkMessage }) => void) | null;
  onerror: ((event: { message?: string; preventDefault?(): void }) => void) | null;
}
declare const Worker: new (url: string | URL, options?: { type?: "module" | "classic"; name?: string }) => BrowserWorker;

/** Options of one eval/exec call of a {@link WebWorkerRExec}. */
export interface WebWorkerCallOptions {
  /** The file name guest stacks show (default `<eval>`). */
  readonly filename?: string;
  /** Cancels the call with {@link AbortError} (see {@link WebWorkerRExecOptions.abortGraceMs}). */
  readonly signal?: AbortSignal;
}

/** Options of {@link WebWorkerRExec}. */
export interface WebWorkerRExecOptions extends WebWorkerSandboxOptions {
  /** URL of the worker script (default: `rexec-worker.js` beside this bundle). */
  readonly workerUrl?: string | URL;
  /** URL of the engine's wasm binary (default: `quickjs-ng.wasm` beside the worker script). */
  readonly wasmUrl?: string | URL;
  /** Wall-clock deadline of one call, ms (default `limits.timeoutMs * 2 + 1000`, as Node worker mode). */
  readonly wallTimeoutMs?: number;
  /**
   * After a call's AbortSignal fires: how long the worker may take to stop it
   * before it is terminated (default 250 ms). A guest waiting for a host
   * function or a timer stops at once and the sandbox stays usable; a guest
   * running code is stopped by terminating the worker (the sandbox is disposed).
   */
  readonly abortGraceMs?: number;
}

/**
 * An RExec in a dedicated Web Worker. Same methods as RExec (all async); host
 * functions in `globals` stay on the page and are async for the guest.
 *
 * ```ts
 * const rx = new WebWorkerRExec({ limits: { timeoutMs: 500 }, globals: { add: (a, b) => a + b } });
 * await rx.r_eval("await add(1, 2)"); // 3
 * ```
 */
export class WebWorkerRExec {
  readonly wallTimeoutMs: number;
  /** How long an aborted call may take to stop inside the worker before the worker is terminated, ms. */
  readonly abortGraceMs: number;
  /** Settles when the worker's sandbox is ready (rejects with its start-up error). */
  readonly ready: Promise<void>;
  readonly #worker: BrowserWorker;
  readonly #link: Link;
  #disposedReason: string | undefined;
  #stats: RunStats | undefined;
  // The deadline: armed while a call is pending and no page function is answering the worker.
  #timer: ReturnType<typeof setTimeout> | undefined;
  #remainingMs: number;
  #armedAt = 0;
  #callsPending = 0;
  #pageFunctionsRunning = 0;

  constructor(options: WebWorkerRExecOptions = {}) {
    const timeoutMs = options.limits?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs;
    this.wallTimeoutMs = options.wallTimeoutMs ?? timeoutMs * 2 + 1000;
    if (!Number.isFinite(this.wallTimeoutMs) || this.wallTimeoutMs < 1) throw new RangeError("wallTimeoutMs must be a positive number of milliseconds");
    this.#remainingMs = this.wallTimeoutMs;
    this.abortGraceMs = options.abortGraceMs ?? 250;
    if (!Number.isFinite(this.abortGraceMs) || this.abortGraceMs < 0) throw new RangeError("abortGraceMs must be a number of milliseconds");
    const workerUrl = options.workerUrl ?? new URL("./rexec-worker.js", import.meta.url);
    this.#worker = new Worker(workerUrl, { type: "module", name: "rexec" });
    this.#link = new Link(this.#worker, { walkLimit: options.limits?.resultBytes ?? DEFAULT_LIMITS.resultBytes });
    this.#link.onLocalFunction = (running) => this.#onPageFunction(running);
    this.#worker.onmessage = (event) => void this.#link.handle(event.data);
    this.#worker.onerror = (event) => {
      event.preventDefault?.();
      this.#kill(new Error(`rexec: the Web Worker failed: ${event.message ?? "could not be started"}`), "its Web Worker failed");
    };
    const { workerUrl: _w, wasmUrl, wallTimeoutMs: _t, abortGraceMs: _g, ...sandbox } = options;
    const wasm = wasmUrl === undefined ? undefined : new URL(String(wasmUrl), String((globalThis as { location?: { href: string } }).location?.href ?? workerUrl)).href;
    this.ready = this.#call("init", [sandbox, wasm], false).then(() => undefined);
    // Reported by every call (and to whoever awaits `ready`); not an unhandled rejection meanwhile.
    this.ready.catch(() => {});
  }

  /** Output the guest wrote during the last call. */
  get output(): { readonly stdout: string; readonly stderr: string } {
    return { stdout: this.#stats?.stdout ?? "", stderr: this.#stats?.stderr ?? "" };
  }
  /** CPU time of the last call, ms. */
  get lastCallCpuMs(): number {
    return this.#stats?.cpuMs ?? 0;
  }
  /** Guest heap in use after the last call, bytes. */
  get heapBytes(): number {
    return this.#stats?.heapBytes ?? 0;
  }
  /** False once disposed (by {@link dispose} or the deadline). */
  get alive(): boolean {
    return this.#disposedReason === undefined;
  }

  /** As RExec's; `signal` cancels the call with AbortError (see {@link WebWorkerRExecOptions.abortGraceMs}). */
  r_eval(code: string, options?: WebWorkerCallOptions): Promise<unknown> {
    return this.#call("r_eval", [code, { filename: options?.filename }], true, options?.signal);
  }
  r_exec(code: string, options?: WebWorkerCallOptions): Promise<void> {
    return this.#call("r_exec", [code, { filename: options?.filename }], true, options?.signal) as Promise<void>;
  }
  r_execfile(path: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.#call("r_execfile", [path], true, options?.signal) as Promise<void>;
  }
  r_import(name: string, options?: { signal?: AbortSignal }): Promise<Record<string, unknown>> {
    return this.#call("r_import", [name], true, options?.signal) as Promise<Record<string, unknown>>;
  }
  r_reload(name: string, options?: { signal?: AbortSignal }): Promise<Record<string, unknown>> {
    return this.#call("r_reload", [name], true, options?.signal) as Promise<Record<string, unknown>>;
  }
  async r_unload(name: string): Promise<void> {
    await this.#call("r_unload", [name]);
  }

  /** Stop the worker now; later calls reject with DisposedError. */
  dispose(): void {
    this.#kill(new DisposedError("dispose() was called"), "dispose() was called");
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  async #call(method: string, args: unknown[], timed = true, signal?: AbortSignal): Promise<unknown> {
    if (this.#disposedReason !== undefined) throw new DisposedError(this.#disposedReason);
    if (signal?.aborted) throw new AbortError(signal.reason);
    if (timed) await this.ready;
    if (signal?.aborted) throw new AbortError(signal.reason);
    if (timed) this.#callStarted();
    let seq = 0;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      // A worker waiting (host function, timer) aborts the call itself and stays usable. A worker
      // running guest code cannot see the message until the guest yields — a page has no
      // shared-memory flag to poll without cross-origin isolation — so after a grace period
      // the worker is terminated: the call still ends with AbortError, the sandbox does not survive.
      this.#link.abort(seq);
      grace = setTimeout(() => {
        this.#kill(new AbortError(signal!.reason, " and the sandbox did not survive it: the guest was busy, so its Web Worker was terminated"), "its Web Worker was terminated to abort a busy call");
      }, this.abortGraceMs);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    let reply: Reply;
    try {
      reply = await this.#link.request({ t: "call", method, args: encodeValue(args, this.#link.exportFunction) }, (n) => (seq = n));
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (grace !== undefined) clearTimeout(grace);
      if (timed) this.#callEnded();
    }
    if (reply.stats) this.#stats = reply.stats;
    if (!reply.ok) {
      // The worker's AbortError crosses as a plain Error named so: give the caller the class, as worker mode does.
      if (signal?.aborted) throw new AbortError(signal.reason);
      throw reply.value;
    }
    return reply.value;
  }

  #callStarted(): void {
    if (this.#callsPending++ === 0) {
      this.#remainingMs = this.wallTimeoutMs;
      this.#arm();
    }
  }

  #callEnded(): void {
    this.#disarm();
    if (--this.#callsPending > 0) {
      // The worker runs queued calls one after another: the next one gets a full deadline.
      this.#remainingMs = this.wallTimeoutMs;
      this.#arm();
    }
  }

  #onPageFunction(running: boolean): void {
    if (running) {
      if (this.#pageFunctionsRunning++ === 0) this.#disarm();
    } else if (--this.#pageFunctionsRunning === 0) this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#callsPending === 0 || this.#pageFunctionsRunning > 0 || this.#disposedReason !== undefined) return;
    this.#armedAt = performance.now();
    this.#timer = setTimeout(() => this.#deadline(), Math.max(0, this.#remainingMs));
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#remainingMs -= performance.now() - this.#armedAt;
  }

  #deadline(): void {
    this.#timer = undefined;
    const wall = this.wallTimeoutMs;
    const error = new TimeoutError(wall);
    Object.assign(error, { limit: "wallTimeoutMs", value: wall });
    error.message = `guest code ran longer than the Web Worker's wall-clock deadline (wallTimeoutMs ${wall} ms); the worker was terminated and this sandbox is now disposed; raise limits.timeoutMs or wallTimeoutMs to allow longer runs`;
    this.#kill(error, "its Web Worker was terminated at the wall-clock deadline");
  }

  #kill(error: unknown, reason: string): void {
    if (this.#disposedReason !== undefined) return;
    this.#disposedReason = reason;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#worker.terminate();
    this.#link.failAll(error);
  }
}
