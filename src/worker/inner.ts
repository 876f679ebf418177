/**
 * Worker side: build the real {@link RExec} a worker runs, from a cloneable
 * {@link WorkerConfig}. Shared by worker mode and the pool.
 *
 * Host functions (globals, hooks, a subclass's `r_open`) are replaced by stubs
 * that call the main thread through a {@link GuestLink}; everything else is
 * passed on as data. The policy statics of the host's class are copied onto a
 * subclass here, so a host subclass's policy holds in the worker too.
 *
 * @packageDocumentation
 */
import { RExec, type RExecOptions } from "../host/rexec.js";
import type { HookFileSystem, RHooks } from "../loader/types.js";
import { decodeValue, type ImportFunction } from "./codec.js";
import type { GuestLink } from "./link.js";
import type { HooksSpec, WorkerConfig } from "./protocol.js";

/** The link host calls go through; the pool swaps it per run. */
export interface LinkRef {
  current: GuestLink | undefined;
}

/** A callable named `name` (guest stacks and logs show it) that calls host function `id`. */
export function hostStubFactory(ref: LinkRef): ImportFunction {
  const importHost: ImportFunction = (id, name) => {
    const safe = /^[\w$]{1,64}$/.test(name) ? name : "hostFunction";
    return {
      [safe]: (...args: unknown[]) => {
        const link = ref.current;
        if (!link) throw new Error("host functions are unavailable outside a run");
        return link.callHost(id, args, importHost);
      },
    }[safe]!;
  };
  return importHost;
}

function proxyHooks(spec: HooksSpec, importHost: ImportFunction): RHooks {
  const call = (id: number, name: string) => importHost(id, name) as (...args: unknown[]) => any;
  const hooks: { -readonly [K in keyof RHooks]: RHooks[K] } = {
    cwd: spec.cwd,
    resolve: call(spec.resolve, "resolve"),
    load: call(spec.load, "load"),
  };
  if (spec.fs) {
    const fs: Record<string, unknown> = {};
    for (const [name, id] of Object.entries(spec.fs)) fs[name] = call(id, name);
    hooks.fs = fs as unknown as HookFileSystem;
  }
  return hooks;
}

/** Create the worker's RExec. `extra` adds options only the worker knows (stdio, verbose). */
export function createInnerRExec(config: WorkerConfig, importHost: ImportFunction, extra: RExecOptions): RExec {
  const rOpenId = config.rOpen;
  const rOpen = rOpenId === undefined ? undefined : importHost(rOpenId, "r_open");
  // A subclass carries the host class's policy statics (and r_open, when overridden).
  const Inner = class extends RExec {};
  for (const [name, value] of Object.entries(config.statics)) {
    Object.defineProperty(Inner, name, { value, writable: true, configurable: true, enumerable: true });
  }
  if (rOpen) Object.defineProperty(Inner.prototype, "r_open", { value: rOpen, writable: true, configurable: true });
  const options: RExecOptions = {
    ...(config.options as RExecOptions),
    limits: config.limits,
    ...extra,
  };
  if (config.engine !== undefined) options.engine = config.engine;
  if (config.globals !== undefined) options.globals = decodeValue(config.globals, importHost) as Record<string, unknown>;
  if (config.hooks !== undefined) options.hooks = proxyHooks(config.hooks, importHost);
  return new Inner(options);
}
