/**
 * rexec for browsers: the package's `browser` export (dist/browser/rexec.js).
 *
 * The same core as on Node — RExec, MemoryHooks, UrlHooks, limits, typed
 * errors, host functions — bundled without Node built-ins
 * (scripts/build-browser.mjs). Not here: FileSystemHooks (no file system),
 * Node worker mode and the pool (use {@link WebWorkerRExec}), the guest's
 * `fetch`. TypeScript guests work, transpiled by sucrase instead of esbuild
 * (src/platform/browser/typescript.ts says where they differ).
 *
 * ```ts
 * import { initRExec, RExec, WebWorkerRExec } from "rexec";
 * await initRExec();                       // fetch + compile the engine once
 * const rx = new RExec({ limits: { timeoutMs: 200 } });
 * await rx.r_eval("1 + 2");                // 3, on the page's thread
 * const wx = new WebWorkerRExec();         // or in a Web Worker, with a hard-kill deadline
 * await wx.r_eval("1 + 2");
 * ```
 *
 * @packageDocumentation
 */
export type { RExecOptions, CallOptions, ModuleCallOptions, CapturedOutput, HostFunction } from "../host/rexec.js";
export { RExec } from "./rexec-browser.js";
export { DEFAULT_LIMITS, type Limits } from "../host/limits.js";
export * from "../host/public-errors.js";
export type { RHooks, LoadedModule, ModuleFormat, ResolveKind } from "../loader/types.js";
export { MemoryHooks, type MemoryHooksOptions } from "../loader/hooks/memory-hooks.js";
export { UrlHooks, type UrlHooksOptions } from "../loader/hooks/url-hooks.js";
export { initRExec, type InitOptions } from "./engine-loader.js";
export { WebWorkerRExec, type WebWorkerRExecOptions } from "./web-worker-rexec.js";
export type { WebWorkerSandboxOptions } from "./protocol.js";
export type { RunStats } from "./link.js";
