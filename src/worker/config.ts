/**
 * Turn {@link RExec} options (and the host's class) into a cloneable
 * {@link WorkerConfig} for a worker thread. Shared by worker mode and the pool.
 *
 * Data goes as data. Everything callable — host functions in `globals`, the
 * methods of `hooks`, a subclass's `r_open` — is registered in the host's
 * {@link HostFunctionTable} and goes as an id: it keeps running on the host
 * thread, and the worker calls it by message (see link.ts). That is why *any*
 * hooks object works in a worker, not only the shipped classes: module and file
 * access is decided by exactly the same code as in-thread.
 *
 * @packageDocumentation
 */
import type { Limits } from "../host/limits.js";
import type { RExecOptions } from "../host/rexec.js";
import type { RHooks } from "../loader/types.js";
import { encodeValue, type Wire } from "./codec.js";
import type { HostFunctionTable } from "./link.js";
import type { HooksSpec, WorkerConfig } from "./protocol.js";

/** The class a worker-mode instance stands for: RExec or a subclass (for its policy statics and `r_open`). */
export type RExecClass = abstract new (...args: any[]) => object;

/** Static policy fields carried to the worker: the seed's `ok…`/`nok…` attributes. */
const POLICY_STATIC = /^n?ok[A-Z]\w*$/;

/** Option names that are plain data and go to the worker as they are. */
const DATA_OPTIONS = ["okBuiltinModules", "okEnv", "okProcessNames", "nokBuiltinNames", "okFetchOrigins", "okWritePaths", "argv", "deterministic"] as const;

const HOOK_FS_METHODS = ["canonicalPath", "readFile", "writeFile", "readdir", "stat", "mkdir", "unlink"] as const;

/**
 * Build the config. `self` is the `this` a subclass's `r_open` sees (the
 * worker-mode instance, which is also what a subclass constructor set fields on).
 */
export function buildWorkerConfig(options: RExecOptions, limits: Limits, table: HostFunctionTable, hostClass: RExecClass | undefined, self: object): WorkerConfig {
  const statics: Record<string, unknown> = {};
  for (let cls: any = hostClass; cls && cls !== Function.prototype; cls = Object.getPrototypeOf(cls)) {
    for (const name of Object.getOwnPropertyNames(cls)) {
      if (!POLICY_STATIC.test(name) || name in statics) continue;
      const value = cls[name];
      if (typeof value !== "function") statics[name] = value;
    }
  }
  const data: Record<string, unknown> = {};
  for (const name of DATA_OPTIONS) if (options[name] !== undefined) data[name] = options[name];
  let globals: Wire | undefined;
  if (options.globals !== undefined) {
    if (typeof options.globals !== "object" || options.globals === null) throw new TypeError("options.globals must be an object of { name: value | function }");
    globals = encodeValue(options.globals, table.export);
  }
  if (options.verbose !== undefined && typeof options.verbose !== "boolean" && typeof options.verbose !== "function") {
    throw new TypeError("options.verbose must be a boolean or a function (line: string) => void");
  }
  return {
    limits,
    statics,
    options: data,
    globals,
    hooks: options.hooks === undefined ? undefined : hooksSpec(options.hooks, table),
    rOpen: rOpenOverride(hostClass, table, self),
    verbose: options.verbose !== undefined && options.verbose !== false,
    engine: options.engine,
  };
}

/** Hooks stay on the host thread; the worker gets the ids of their methods. */
function hooksSpec(hooks: RHooks, table: HostFunctionTable): HooksSpec {
  if (typeof hooks !== "object" || hooks === null || typeof hooks.resolve !== "function" || typeof hooks.load !== "function") {
    throw new TypeError("options.hooks must be an RHooks object with resolve() and load() (FileSystemHooks, MemoryHooks, UrlHooks or your own)");
  }
  const bind = (fn: (...a: any[]) => unknown, owner: object) => table.export((...a: any[]) => fn.apply(owner, a));
  let fs: Record<string, number> | undefined;
  if (hooks.fs) {
    fs = {};
    for (const name of HOOK_FS_METHODS) {
      const method = (hooks.fs as unknown as Record<string, unknown>)[name];
      if (typeof method === "function") fs[name] = bind(method as (...a: any[]) => unknown, hooks.fs);
    }
  }
  return { cwd: String(hooks.cwd ?? "/"), resolve: bind(hooks.resolve, hooks), load: bind(hooks.load, hooks), fs };
}

/** A subclass's `r_open` (the seed's file-policy hook) runs on the host thread, with `self` as `this`. */
function rOpenOverride(hostClass: RExecClass | undefined, table: HostFunctionTable, self: object): number | undefined {
  if (!hostClass) return undefined;
  const own = (hostClass.prototype as { r_open?: unknown }).r_open;
  if (typeof own !== "function") return undefined;
  // The default implementation is the one defined on the root class of the chain.
  let base: unknown;
  for (let proto = hostClass.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, "r_open")) base = (proto as { r_open: unknown }).r_open;
  }
  if (own === base) return undefined;
  return table.export((path: string, mode: string) => (own as (p: string, m: string) => unknown).call(self, path, mode));
}
