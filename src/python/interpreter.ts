/**
 * Host side of one Python interpreter: a worker thread (py-worker.ts), its
 * host-call channel, and the hard stop.
 *
 * Invariants:
 * - One interpreter per worker thread; the worker is terminated at the CPU
 *   deadline (plus a short grace for the soft KeyboardInterrupt), at the
 *   wall-clock deadline, on any violation or fatal error, and on dispose. A
 *   terminated or failed interpreter is never used again.
 * - Time the guest spends waiting on host functions is not charged to its CPU
 *   deadline, but always to the wall-clock deadline.
 * - Host replies are bounded by the reply buffer; a larger reply becomes an
 *   error for the guest, never a partial write.
 * - A guest's request is guest-made JSON: the host parses it, checks its
 *   shape and decodes its values with the codec's depth limit (codec.ts)
 *   before any of it reaches a host function; a malformed one is answered
 *   with an error, never thrown on the host.
 *
 * @packageDocumentation
 */
import { Worker } from "node:worker_threads";
import { cappedModule, pyodideDirectory } from "./pyodide-files.js";
import { pythonSnapshot } from "./snapshot.js";
import { pythonWorkerScript } from "./worker-script.js";
import { fromGuest } from "./codec.js";
import { HostCallExchange } from "./host-exchange.js";
import { HOST_CONTROL_BYTES, type BootData, type CallReply, type FromWorker, type ToWorker } from "./py-protocol.js";

/** Boot settings of an interpreter; interpreters with equal settings are interchangeable spares. */
export interface InterpreterSettings {
  readonly memoryBytes: number;
  readonly resultBytes: number;
  readonly outputBytes: number;
  readonly fsQuotaBytes: number;
  readonly maxFiles: number;
  /** Test-only (see BootData). */
  readonly unsafeNoFirewall?: boolean;
}

/** What a running call needs from its sandbox. */
export interface CallServices {
  /** A request from the guest (host function, module look-up, r_open). Answers `{ value }`, `{ error }` or `{ restricted }`. */
  host(request: unknown): Promise<Record<string, unknown>>;
  output(stream: "stdout" | "stderr", chunk: Uint8Array): void;
}

/** How a call ended, including the ends only the host thread sees. */
export type CallOutcome = CallReply | { readonly kind: "hard-timeout"; readonly limit: "timeoutMs" | "wallTimeMs" } | { readonly kind: "died"; readonly detail: string };

/** Native stack of an interpreter's thread: C-level recursion then ends cleanly (PYTHON-FACTS §8). */
const STACK_MB = 64;
/** Longest a booting interpreter may take to report ready (a snapshot restore takes ~0.5 s; a loaded machine much more). */
const BOOT_TIMEOUT_MS = 60_000;
/** How long the soft stop (KeyboardInterrupt) gets before the thread is terminated. */
const GRACE_MS = 250;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One interpreter in its own worker thread. */
export class Interpreter {
  private dead: string | undefined;
  private services: CallServices | undefined;
  private current: ((outcome: CallOutcome) => void) | undefined;
  private readonly exchange: HostCallExchange;
  /** "out" messages received from the worker (see HostWord.OUT_POSTED). */
  private outReceived = 0;
  /** Wakes the exchange when output it waits for arrives, or the interpreter dies. */
  private outArrived: (() => void) | undefined;
  private cpuTimer: NodeJS.Timeout | undefined;
  private cpuLeft = 0;
  private cpuStarted = 0;
  /** Bytes of wasm memory the interpreter holds (high-water mark). */
  memoryBytes = 0;

  private constructor(private readonly worker: Worker, hostReply: SharedArrayBuffer) {
    this.exchange = new HostCallExchange(hostReply);
  }

  /** Boot an interpreter from the process's snapshot. */
  static async start(settings: InterpreterSettings): Promise<Interpreter> {
    const [wasmModule, snapshot] = await Promise.all([cappedModule(settings.memoryBytes), pythonSnapshot()]);
    const hostReply = new SharedArrayBuffer(HOST_CONTROL_BYTES + settings.resultBytes + 4096);
    const boot: BootData = { pyodideDir: pyodideDirectory(), wasmModule, snapshot, hostReply, ...settings };
    const worker = new Worker(pythonWorkerScript(), {
      workerData: boot,
      // The host's own flags (--input-type, loaders…) are not the interpreter's business.
      execArgv: [],
      resourceLimits: {
        stackSizeMb: STACK_MB,
        // The worker's JS heap holds the in-memory FS (quota), the stdlib archive and copies of results.
        maxOldGenerationSizeMb: 192 + Math.ceil((settings.fsQuotaBytes + 16 * settings.resultBytes + snapshot.byteLength) / 2 ** 20),
      },
    });
    const interpreter = new Interpreter(worker, hostReply);
    let bootDeadline: NodeJS.Timeout | undefined;
    const listeners: Array<[string, (...args: any[]) => void]> = [];
    try {
      await new Promise<void>((resolve, reject) => {
        listeners.push(["message", (message: FromWorker) => {
          if (message.t === "ready") {
            interpreter.memoryBytes = message.memoryBytes;
            resolve();
          } else reject(new Error(`Python interpreter failed to start: ${message.t === "failed" ? message.detail : message.t}`));
        }]);
        listeners.push(["error", (error: Error) => reject(new Error(`Python interpreter failed to start: ${error.message}`))]);
        listeners.push(["exit", (code: number) => reject(new Error(`Python interpreter exited while starting (${code})`))]);
        for (const [event, listener] of listeners) worker.once(event, listener);
        // A boot that never reports would hang every sandbox waiting for this interpreter.
        bootDeadline = setTimeout(() => reject(new Error(`Python interpreter did not start within ${BOOT_TIMEOUT_MS / 1000} s`)), BOOT_TIMEOUT_MS);
      });
    } catch (error) {
      void worker.terminate();
      throw error;
    } finally {
      clearTimeout(bootDeadline);
      for (const [event, listener] of listeners) worker.off(event, listener);
    }
    worker.on("message", (message: FromWorker) => interpreter.onMessage(message));
    void interpreter.exchange.serve({
      answer: (request) => interpreter.answerHost(request),
      outputArrived: (count) => interpreter.outputArrived(count),
      onFailure: (error) => interpreter.fail(`the host-call channel failed: ${error instanceof Error ? error.message.slice(0, 200) : "unknown error"}`),
    });
    worker.on("error", (error) => interpreter.fail(`worker error: ${error.message.slice(0, 200)}`));
    worker.on("exit", (code) => interpreter.fail(`worker exited (${code})`));
    worker.unref();
    return interpreter;
  }

  /** Why this interpreter can no longer be used, or `undefined` while it can. */
  get deadReason(): string | undefined {
    return this.dead;
  }

  /** Run one request. Only one call at a time (the sandbox serialises them). */
  call(body: Record<string, unknown>, timeoutMs: number, wallTimeMs: number, services: CallServices, openDirs?: readonly string[]): Promise<CallOutcome> {
    if (this.dead) return Promise.resolve({ kind: "died", detail: this.dead });
    return new Promise<CallOutcome>((resolve) => {
      const wallTimer = setTimeout(() => this.hardStop("wallTimeMs"), wallTimeMs);
      this.services = services;
      this.current = (outcome) => {
        clearTimeout(wallTimer);
        this.pauseCpu();
        this.current = undefined;
        this.services = undefined;
        resolve(outcome);
      };
      this.cpuLeft = timeoutMs + GRACE_MS;
      this.resumeCpu();
      this.worker.postMessage({ t: "call", request: { body, timeoutMs, ...(openDirs ? { openDirs } : {}) } } satisfies ToWorker);
    });
  }

  private resumeCpu(): void {
    this.cpuStarted = performance.now();
    this.cpuTimer = setTimeout(() => this.hardStop("timeoutMs"), Math.max(0, this.cpuLeft));
  }

  private pauseCpu(): void {
    if (this.cpuTimer === undefined) return;
    clearTimeout(this.cpuTimer);
    this.cpuTimer = undefined;
    this.cpuLeft -= performance.now() - this.cpuStarted;
  }

  private hardStop(limit: "timeoutMs" | "wallTimeMs"): void {
    const finish = this.current;
    this.terminate(`hard stop at limits.${limit}`);
    finish?.({ kind: "hard-timeout", limit });
  }

  private onMessage(message: FromWorker): void {
    switch (message.t) {
      case "out":
        this.outReceived++;
        this.services?.output(message.stream, message.chunk);
        this.outArrived?.();
        return;
      case "death":
      case "done":
        if (message.reply.memoryBytes) this.memoryBytes = message.reply.memoryBytes;
        if (message.reply.kind === "violation" || message.reply.kind === "fatal" || message.reply.kind === "malformed" || (message.reply.kind === "exit" && message.reply.ended)) {
          // A violation, a guest process exit, a fatal error, a malformed answer: never reuse.
          this.terminate(`interpreter ended: ${message.reply.kind}`);
        }
        this.current?.(message.reply);
        return;
      default:
        return;
    }
  }

  /** Resolves once `count` output messages have arrived (or the interpreter died); undefined when they have. */
  private outputArrived(count: number): Promise<void> | undefined {
    if (this.outReceived >= count || this.dead) return undefined;
    return new Promise<void>((resolve) => {
      this.outArrived = () => {
        if (this.outReceived < count && !this.dead) return;
        this.outArrived = undefined;
        resolve();
      };
    });
  }

  /** The reply to one guest request: never throws, never larger than the exchange. */
  private async answerHost(requestJson: Uint8Array): Promise<Uint8Array> {
    const services = this.services;
    let answer: Record<string, unknown>;
    try {
      // Parsing is the guest's cost (seconds for a large, deeply nested request the guest writes for free): it
      // runs on the guest's CPU budget, which pauses only for the host function itself.
      const request = parseRequest(requestJson);
      this.pauseCpu();
      answer = services ? await services.host(request) : { error: "no call is running" };
    } catch (error) {
      this.pauseCpu();
      answer = { error: error instanceof Error ? error.message.slice(0, 1000) : "host function failed" };
    }
    let bytes: Uint8Array;
    try {
      bytes = encoder.encode(JSON.stringify(answer));
    } catch {
      bytes = encoder.encode(JSON.stringify({ error: "the host's answer could not be encoded" }));
    }
    const capacity = this.exchange.capacity;
    if (bytes.length > capacity) bytes = encoder.encode(JSON.stringify({ error: `the host's answer is larger than limits.resultBytes (${capacity - 4096} bytes)` }));
    if (this.current && this.services === services && !this.dead) this.resumeCpu();
    return bytes;
  }

  private fail(detail: string): void {
    const finish = this.current;
    this.terminate(detail);
    finish?.({ kind: "died", detail });
  }

  /** Stop the thread (idempotent). Its memory is freed with it. */
  terminate(reason = "terminated"): void {
    if (this.dead) return;
    this.dead = reason;
    this.pauseCpu();
    this.exchange.stop();
    this.outArrived?.();
    void this.worker.terminate();
  }
}

/** A guest's request, checked: `{ op, args?, path?, mode? }` with args decoded (codec.ts). Throws on anything else. */
function parseRequest(json: Uint8Array): Record<string, unknown> {
  const request: unknown = JSON.parse(decoder.decode(json));
  if (typeof request !== "object" || request === null || Array.isArray(request)) throw new Error("malformed host request");
  const { op, args, path, mode } = request as Record<string, unknown>;
  if (typeof op !== "string" || (args !== undefined && !Array.isArray(args))) throw new Error("malformed host request");
  return { op, args: args === undefined ? undefined : fromGuest(args), path, mode };
}

/** Settings (limits) with a spare at once. */
const MAX_SPARE_KINDS = 2;

/** One pre-started interpreter per settings, so a new sandbox does not wait for a boot. */
const spares = new Map<string, Promise<Interpreter>>();

/**
 * An interpreter for a new sandbox: the spare of these settings when one is
 * ready (and another spare is started behind it), else a fresh boot.
 */
export async function takeInterpreter(settings: InterpreterSettings, keepSpare = true): Promise<Interpreter> {
  const key = JSON.stringify(settings);
  const spare = spares.get(key);
  spares.delete(key);
  let interpreter: Interpreter | undefined;
  if (spare) interpreter = await spare.catch(() => undefined);
  if (!interpreter || interpreter.deadReason) interpreter = await Interpreter.start(settings);
  if (keepSpare && !settings.unsafeNoFirewall) {
    const next = Interpreter.start(settings);
    next.catch(() => spares.delete(key));
    spares.set(key, next);
    // Spares of settings no longer in use would hold ~85 MB each forever: keep the newest few.
    for (const [oldKey, old] of spares) {
      if (spares.size <= MAX_SPARE_KINDS) break;
      spares.delete(oldKey);
      void old.then((i) => i.terminate("spare evicted"), () => {});
    }
  }
  return interpreter;
}

/** Stop every spare interpreter (e.g. before a process wants to exit promptly; spares never keep it alive). */
export function dropSpares(): void {
  for (const spare of spares.values()) void spare.then((i) => i.terminate("spare dropped"), () => {});
  spares.clear();
}

/** Resolves once every spare being started is ready (benchmarks wait on it to measure a warm host). */
export async function sparesReady(): Promise<void> {
  await Promise.all([...spares.values()].map((spare) => spare.catch(() => undefined)));
}
