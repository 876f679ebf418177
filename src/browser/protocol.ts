/**
 * What a page asks of the Web Worker that runs its sandbox (see
 * web-worker-rexec.ts for the page side, worker-entry.ts for the worker side).
 *
 * @packageDocumentation
 */
import type { Limits } from "../host/limits.js";

/** The sandbox a Web Worker builds: the serialisable subset of {@link RExecOptions}. */
export interface WebWorkerSandboxOptions {
  /** Limits, as for RExec (memory, CPU time, stack, output, result size). */
  readonly limits?: Partial<Limits>;
  /**
   * Globals the host grants: data is copied in; each function stays on the page
   * and the guest calls it through the worker — asynchronously: the guest gets
   * a promise (`await add(1, 2)`).
   */
  readonly globals?: Readonly<Record<string, unknown>>;
  /** A MemoryHooks tree (guest path → source) the guest imports from. */
  readonly files?: Readonly<Record<string, string>>;
  /** UrlHooks instead of MemoryHooks: modules fetched from allowed origins. */
  readonly urlHooks?: { readonly base: string; readonly allow: readonly string[]; readonly maxBytes?: number; readonly timeoutMs?: number };
  /** The builtin modules the guest may import (default: RExec's). */
  readonly okBuiltinModules?: readonly string[];
  /** Reproducible runs, as RExec's option. */
  readonly deterministic?: boolean | { readonly seed?: number; readonly now?: number };
}

/** How often a worker with a call in progress says it is alive (the page's deadline, web-worker-rexec.ts). */
export const BEAT_MS = 50;

/** The RExec methods the page may call in the worker. */
export const WORKER_METHODS = new Set(["init", "r_eval", "r_exec", "r_execfile", "r_import", "r_reload", "r_unload", "dispose"]);
