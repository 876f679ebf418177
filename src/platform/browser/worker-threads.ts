/**
 * `node:worker_threads` for the browser build.
 *
 * `BroadcastChannel` (debug counters of compilations and warm-ups) is the
 * page's own; `threadId` is 0. Node worker mode (`new RExec({ worker: true })`)
 * does not exist in a browser: its classes throw, pointing at the Web Worker
 * variant (`WebWorkerRExec`).
 *
 * @packageDocumentation
 */
const NO_WORKER_MODE = "rexec (browser): Node worker mode ({ worker: true }) is not available in a browser; use WebWorkerRExec";

class Unavailable {
  constructor() {
    throw new Error(NO_WORKER_MODE);
  }
}

/** A channel that drops messages, where the page has no BroadcastChannel. */
class SilentChannel {
  postMessage(_message: unknown): void {}
  close(): void {}
}

export const BroadcastChannel: typeof globalThis.BroadcastChannel = (globalThis.BroadcastChannel ?? SilentChannel) as typeof globalThis.BroadcastChannel;
export const threadId = 0;
export const isMainThread = true;
export const parentPort = null;
export const workerData = undefined;
export const Worker = Unavailable;
export const MessageChannel = Unavailable;
export const MessagePort = Unavailable;
export function receiveMessageOnPort(): never {
  throw new Error(NO_WORKER_MODE);
}

export default { BroadcastChannel, threadId, isMainThread, parentPort, workerData, Worker, MessageChannel, MessagePort, receiveMessageOnPort };
