/**
 * The light page-side entry (`rexec/web-worker`, bundled as
 * dist/browser/web-worker.js; this file is not named web-worker.ts because
 * tsc's own output for it would then overwrite the bundle):
 * {@link WebWorkerRExec} and the error classes, without the engine or the
 * core. A page that runs every sandbox in a Web Worker loads 13 kB (5 kB gzipped) here
 * instead of the full bundle; the worker loads the core itself.
 *
 * @packageDocumentation
 */
export { WebWorkerRExec, type WebWorkerRExecOptions } from "./web-worker-rexec.js";
export type { WebWorkerSandboxOptions } from "./protocol.js";
export type { RunStats } from "./link.js";
export { DEFAULT_LIMITS, type Limits } from "../host/limits.js";
export * from "../host/public-errors.js";
