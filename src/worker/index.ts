/**
 * Worker mode: a guest realm in a worker thread, with RExec's API.
 *
 * @packageDocumentation
 */
export { WorkerRExec, type WorkerRExecOptions, type WorkerModeOptions } from "./worker-rexec.js";
export type { RExecClass } from "./config.js";
export { WORKER_DEFAULT_STACK_BYTES, WORKER_STACK_MB, workerResourceLimits } from "./spawn.js";
