/**
 * The worker thread of a {@link WorkerRExec}: one real RExec, driven by
 * messages from the main thread. Not part of the public API.
 *
 * @packageDocumentation
 */
import { closeHostCallScope, openHostCallScope, runInHostCallScope } from "../boundary/host-call-scope.js";
import { parentPort, workerData } from "node:worker_threads";
import { CloneError, RExecError } from "../host/errors.js";
import type { RExec } from "../host/rexec.js";
import { encodeError, encodeValue, decodeValue } from "./codec.js";
import { createInnerRExec, hostStubFactory, type LinkRef } from "./inner.js";
import { GuestLink } from "./link.js";
import { adoptSharedEngine, type SharedEngine } from "./spawn.js";
import { ABORT_SLOTS, FORWARDED_METHOD, type FromWorker, type ToWorker, type WorkerStartData } from "./protocol.js";
import { setThreadPollHook } from "../boundary/cpu-budget.js";

const port = parentPort;
if (!port) throw new Error("rexec worker entry must run in a worker thread");
const data = workerData as WorkerStartData & { sharedEngine?: SharedEngine };
// Before the realm starts: use the host's compiled module instead of compiling one.
adoptSharedEngine(data.sharedEngine);
const post = (message: FromWorker) => port.postMessage(message);
const link = new GuestLink((m) => port.postMessage(m), data.replyPort, new Int32Array(data.signal));
const ref: LinkRef = { current: link };
const importHost = hostStubFactory(ref);

let rx: RExec | undefined;
/** Settles once "ready" (or "startError") has been posted; calls wait for it. */
let started: Promise<void> = Promise.resolve();
try {
  rx = createInnerRExec(data.config, importHost, {
    verbose: data.config.verbose ? (line: string) => post({ t: "log", line }) : false,
    stdio: {
      stdout: (text: string) => post({ t: "out", stream: "stdout", text }),
      stderr: (text: string) => post({ t: "out", stream: "stderr", text }),
    },
  });
  // "ready" only once the realm has started, so engine start-up never counts
  // against the first call's wall clock.
  // Calls wait for this gate, so "ready" is always posted before a guest can start spinning.
  started = rx.r_exec("").then(
    () => post({ t: "ready" }),
    (error) => post({ t: "startError", error: encodeError(asError(error), link.exportGuestFunction) }),
  );
  started.catch(ignore);
} catch (error) {
  post({ t: "startError", error: encodeError(error, link.exportGuestFunction) });
}

/**
 * Per-call cancellation. The host keeps the AbortSignal; here each abortable
 * call gets its own controller, aborted by an "abort" message (when this
 * thread's event loop runs: a queued call, a guest waiting for the host) or
 * by the host's store into the shared abort slots, read at every engine poll
 * (while the guest runs, no message can arrive). The realm then stops the
 * call as it does in-thread.
 */
const abortSlots = new Int32Array(data.abortSlots);
const controllers = new Map<number, AbortController>();
/** The seq of the independent call running now (0: none). */
let runningSeq = 0;
setThreadPollHook(() => {
  if (runningSeq !== 0 && Atomics.load(abortSlots, runningSeq % ABORT_SLOTS) === runningSeq) controllers.get(runningSeq)?.abort();
});

async function invoke(message: Extract<ToWorker, { t: "call" | "callFn" }>): Promise<unknown> {
  const args = decodeValue(message.args, importHost);
  if (!Array.isArray(args)) throw new TypeError("bad call arguments");
  const controller = message.t === "call" ? controllers.get(message.seq) : undefined;
  if (controller) {
    // The options argument (second of every method) gets this call's signal.
    const options = args[1];
    args[1] = { ...(typeof options === "object" && options !== null ? options : {}), signal: controller.signal };
  }
  if (message.t === "callFn") {
    const fn = link.guestFunction(message.fid);
    if (!fn) throw new RExecError("this guest function was released and can no longer be called");
    return (fn as (...a: unknown[]) => unknown)(...args);
  }
  const target = rx as unknown as Record<string, unknown>;
  const method = target?.[message.method];
  if (!FORWARDED_METHOD.test(message.method) || typeof method !== "function") {
    throw new TypeError(`${message.method} is not available on this RExec`);
  }
  return (method as (...a: unknown[]) => unknown).apply(rx, args);
}

/**
 * Independent calls run one after another, as in-thread (a realm runs one
 * call at a time). Only a guest function called by a host function on behalf
 * of the running call (`nested`) skips the queue: it runs inside that call,
 * which is waiting for it. Without this, a second independent call arriving
 * while the first awaited something ran *inside* the first, and was rejected
 * when the first ended.
 */
let queue: Promise<unknown> = started;

/** Post a call's outcome. Never throws: a value that cannot be posted becomes an error that can. */
function reply(seq: number, ok: boolean, value: unknown): void {
  const output = rx?.output;
  try {
    post({ t: "result", seq, ok, value: ok ? encodeValue(value, link.exportGuestFunction) : encodeError(asError(value), link.exportGuestFunction), output });
    return;
  } catch (error) {
    // encodeValue refused the value, or postMessage could not clone it.
    try {
      post({ t: "result", seq, ok: false, value: encodeError(new CloneError(`the result could not cross the worker boundary: ${describe(error)}`), link.exportGuestFunction), output });
    } catch {
      try {
        post({ t: "result", seq, ok: false, value: encodeError(new CloneError("the result could not cross the worker boundary"), link.exportGuestFunction), output: undefined });
      } catch {
        // The port is gone: the host has terminated this worker.
      }
    }
  }
}

port.on("message", (message: ToWorker) => {
  switch (message.t) {
    case "settle":
      link.settle(message, importHost);
      return;
    case "release":
      link.release(message.ids);
      return;
    case "abort":
      controllers.get(message.seq)?.abort();
      return;
    case "call":
    case "callFn": {
      const seq = message.seq;
      const nested = message.t === "callFn" && message.nested === true;
      // A nested call acts for the running call: the realm must run it inside
      // that call, not queue it (see boundary/host-call-scope.ts).
      const scope = nested ? openHostCallScope(undefined) : undefined;
      if (message.t === "call" && message.abortable) controllers.set(seq, new AbortController());
      const run = (nested ? started : queue).then(() => {
        if (scope) return runInHostCallScope(scope, () => invoke(message));
        runningSeq = seq;
        return invoke(message);
      });
      if (!nested) run.then(() => (runningSeq = 0), () => (runningSeq = 0));
      run.then(() => controllers.delete(seq), () => controllers.delete(seq));
      if (scope) run.then(() => closeHostCallScope(scope), () => closeHostCallScope(scope));
      if (!nested) queue = run.then(ignore, ignore);
      run.then(
        (value) => reply(seq, true, value),
        (error) => reply(seq, false, error),
      );
      return;
    }
  }
});

/**
 * Last line of defense: a rejection nobody handled in this thread (a promise
 * the realm let go of when a call ended) must not end the worker — Node ends a
 * thread on an unhandled rejection, which would fail every call in flight.
 */
process.on("unhandledRejection", (reason) => {
  // Only the type: the reason may be guest-made, and is never stringified.
  if (data.config.verbose) post({ t: "log", line: `worker: ignored an unhandled rejection (${reason instanceof Error ? reason.name : typeof reason})` });
});

function ignore(): void {}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : typeof error;
}

/**
 * Calls reject with Errors; anything else (an engine-internal value) becomes
 * an RExecError. The value is never stringified: it may be guest-made, and
 * stringifying would run its `toJSON`/`toString`.
 */
function asError(error: unknown): unknown {
  if (error instanceof Error) return error;
  return new RExecError(`the sandbox failed with a non-error value (of type ${error === null ? "null" : typeof error})`);
}
