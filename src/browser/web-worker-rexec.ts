/**
 * The page side of a sandbox that runs in a dedicated Web Worker: the
 * browser's counterpart of Node worker mode (`{ worker: true }`).
 *
 * Invariant: a guest can never freeze the page. Guest code runs only in the
 * worker; while a call is pending the page keeps a wall-clock deadline
 * ({@link WebWorkerRExecOptions.wallTimeoutMs}), and when it passes, the page
 * terminates the worker — which stops it whatever it is doing, even a native
 * call the engine's own CPU limit cannot interrupt — rejects the call with
 * {@link TimeoutError} (`limit: "wallTimeoutMs"`) and disposes this instance.
 * The engine's CPU limit (`limits.timeoutMs`) normally ends a runaway guest
 * first, with the sandbox still usable; the deadline is the backstop.
 *
 * What the deadline charges: the time the worker is *busy*, as Node worker
 * mode's watchdog — not the time it only waits (for a host function of the
 * page, a guest timer): the realm's own `limits.wallTimeMs` bounds waiting.
 * The worker sends a heartbeat every {@link BEAT_MS} ms while it has a call,
 * from a timer, which cannot run while guest code holds the worker's thread;
 * the deadline passes when no heartbeat came for that long. Other messages do
 * not count: a busy guest can make the worker post them (a page function
 * called without awaiting it, in a loop that never yields). A page too
 * busy to read its messages is not mistaken for a silent worker: an apparent
 * expiry is confirmed once more after the page has had time to read them.
 *
 * @packageDocumentation
 */
import { AbortError, DisposedError, TimeoutError } from "../host/errors.js";
import { DEFAULT_LIMITS } from "../host/limits.js";
import { encodeValue } from "../worker/codec.js";
import { Link, type LinkMessage, type Reply, type RunStats } from "./link.js";
import { BEAT_MS, type WebWorkerSandboxOptions } from "./protocol.js";

/** How long an apparent expiry waits for the page to read queued messages before it is believed. */
const CONFIRM_MS = 4 * BEAT_MS;
/** The longest delay setTimeout honours (2^31 - 1 ms); a longer deadline is re-checked when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
  /** The file name guest stacks show (default `<eval>`); `.ts`/`.mts`/`.cts` makes the code TypeScript. */
  readonly filename?: string;
  /** `"ts"`: the code is TypeScript (types are stripped first); default `"js"`, or `"ts"` for a `.ts` filename. */
  readonly language?: "js" | "ts";
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
  // The deadline: armed while a call is pending; measured from the worker's last sign of life.
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastSign = 0;
  #callsPending = 0;

  constructor(options: WebWorkerRExecOptions = {}) {
    const timeoutMs = options.limits?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs;
    this.wallTimeoutMs = options.wallTimeoutMs ?? timeoutMs * 2 + 1000;
    if (!Number.isFinite(this.wallTimeoutMs) || this.wallTimeoutMs < 1) throw new RangeError("wallTimeoutMs must be a positive number of milliseconds");
    this.abortGraceMs = options.abortGraceMs ?? 250;
    if (!Number.isFinite(this.abortGraceMs) || this.abortGraceMs < 0) throw new RangeError("abortGraceMs must be a number of milliseconds");
    const workerUrl = options.workerUrl ?? new URL("./rexec-worker.js", import.meta.url);
    this.#worker = new Worker(workerUrl, { type: "module", name: "rexec" });
    this.#link = new Link(this.#worker, { walkLimit: options.limits?.resultBytes ?? DEFAULT_LIMITS.resultBytes });
    this.#worker.onmessage = (event) => {
      // Only a heartbeat is a sign of life: it comes from a worker timer, which a busy guest holds
      // back. Any other message can be posted by guest code that never yields (a page function
      // called without awaiting it, in a loop), so it must not push the deadline back.
      if (event.data?.t === "beat") this.#lastSign = performance.now();
      else void this.#link.handle(event.data);
    };
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
    return this.#call("r_eval", [code, callOptions(options)], true, options?.signal);
  }
  r_exec(code: string, options?: WebWorkerCallOptions): Promise<void> {
    return this.#call("r_exec", [code, callOptions(options)], true, options?.signal) as Promise<void>;
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
    if (timed) await untilReady(this.ready, signal);
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
      }, Math.min(this.abortGraceMs, MAX_TIMER_MS)); // a larger delay would fire at once
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
      this.#lastSign = performance.now();
      this.#arm(this.wallTimeoutMs);
    }
  }

  #callEnded(): void {
    if (--this.#callsPending === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(ms: number): void {
    if (this.#disposedReason !== undefined) return;
    // A delay past setTimeout's 32-bit range runs at once (browsers and Node): the timer would spin, re-armed every few ms.
    this.#timer = setTimeout(() => this.#check(false), Math.min(Math.max(0, ms), MAX_TIMER_MS));
  }

  /** The timer fired: the worker was silent for the whole deadline (confirmed once), or it was not: wait for the rest. */
  #check(confirming: boolean): void {
    this.#timer = undefined;
    if (this.#callsPending === 0 || this.#disposedReason !== undefined) return;
    const silentMs = performance.now() - this.#lastSign;
    if (silentMs < this.wallTimeoutMs) this.#arm(this.wallTimeoutMs - silentMs);
    else if (!confirming) this.#timer = setTimeout(() => this.#check(true), CONFIRM_MS);
    else this.#deadline();
  }

  #deadline(): void {
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
    this.#link.close(error, () => new DisposedError(reason));
  }
}

/**
 * Wait for the sandbox to start, unless the call's signal fires first: a worker
 * whose engine never arrives (a wasm URL that never answers) must not hold a
 * call its caller has cancelled. The worker's heartbeat runs while it waits for
 * the fetch, so the deadline does not end that wait; the signal does.
 */
function untilReady(ready: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return ready;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    ready.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The options of an eval/exec that cross to the worker (the signal stays on the page). */
function callOptions(options: WebWorkerCallOptions | undefined): { filename?: string; language?: "js" | "ts" } {
  return {
    ...(options?.filename === undefined ? {} : { filename: options.filename }),
    ...(options?.language === undefined ? {} : { language: options.language }),
  };
}
