/**
 * The worker thread of a {@link WorkerRExec}: one real RExec, driven by
 * messages from the main thread. Not part of the public API.
 *
 * @packageDocumentation
 */
import { parentPort, workerData } from "node:worker_threads";
import { RExecError } from "../host/errors.js";
import type { RExec } from "../host/rexec.js";
import { encodeError, encodeValue, decodeValue } from "./codec.js";
import { createInnerRExec, hostStubFactory, type LinkRef } from "./inner.js";
import { GuestLink } from "./link.js";
import { FORWARDED_METHOD, type FromWorker, type ToWorker, type WorkerStartData } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("rexec worker entry must run in a worker thread");
const data = workerData as WorkerStartData;
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
} catch (error) {
  post({ t: "startError", error: encodeError(error, link.exportGuestFunction) });
}

async function invoke(message: Extract<ToWorker, { t: "call" | "callFn" }>): Promise<unknown> {
  const args = decodeValue(message.args, importHost);
  if (!Array.isArray(args)) throw new TypeError("bad call arguments");
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

port.on("message", (message: ToWorker) => {
  switch (message.t) {
    case "settle":
      link.settle(message, importHost);
      return;
    case "release":
      link.release(message.ids);
      return;
    case "call":
    case "callFn": {
      const seq = message.seq;
      started.then(() => invoke(message)).then(
        (value) => {
          let wire;
          try {
            wire = encodeValue(value, link.exportGuestFunction);
          } catch (error) {
            post({ t: "result", seq, ok: false, value: encodeError(error, link.exportGuestFunction), output: rx?.output });
            return;
          }
          post({ t: "result", seq, ok: true, value: wire, output: rx?.output });
        },
        (error) => post({ t: "result", seq, ok: false, value: encodeError(asError(error), link.exportGuestFunction), output: rx?.output }),
      );
      return;
    }
  }
});

/** Calls reject with Errors; anything else (an engine-internal value) becomes an RExecError. */
function asError(error: unknown): unknown {
  if (error instanceof Error) return error;
  let what: string;
  try {
    what = JSON.stringify(error) ?? String(error);
  } catch {
    what = Object.prototype.toString.call(error);
  }
  return new RExecError(`the sandbox failed with a non-error value (${what.slice(0, 200)})`);
}
