/**
 * RExecPool: stateless guest runs across all cores.
 *
 * @packageDocumentation
 */
export { RExecPool, QueueFullError, AbortError, type RExecPoolOptions, type PoolRunOptions, type PoolRunResult, type PoolRunStats } from "./pool.js";
