/**
 * `rexec/service`: rexec as an HTTP service (`rexec serve`) and as workers of
 * a BullMQ queue on Redis (`rexec worker`). A subpath of its own, so that
 * `import "rexec"` never loads fastify, BullMQ or prom-client.
 *
 * @packageDocumentation
 */
export { createServer, serve, type RExecServer, type ServerOptions } from "./http-server.js";
export { startWorker, jobTimeoutMs, DEFAULT_QUEUE, type QueueWorker, type QueueWorkerOptions } from "./queue-worker.js";
export { ServiceRunner, PoolsBusyError, ShuttingDownError, QueueFullError, type RunnerOptions, type RunnerPolicy, type RunEvent } from "./runner.js";
export { checkJob, InvalidJobError, type JobData, type Job } from "./job.js";
export { toJsonValue, errorBody, isGuestOutcome, type RunResult, type RunStats, type ErrorBody } from "./result.js";
export { ServiceMetrics } from "./metrics.js";
export { startMetricsServer, type MetricsServer } from "./metrics-server.js";
