/**
 * rexec — run untrusted JavaScript and TypeScript in a QuickJS WebAssembly
 * sandbox with only the capabilities you grant and hard limits on memory and CPU.
 *
 * @packageDocumentation
 */
import { GUEST_LANGUAGES } from "./host/rexec.js";
import { PythonRExec } from "./python/python-rexec.js";
// `new RExec({ language: "python" })` returns a PythonRExec (pyodide loads only when one starts).
GUEST_LANGUAGES.set("python", PythonRExec);
export { PythonRExec, PYTHON_DEFAULT_LIMITS, type PythonRExecOptions, type PythonCallOptions, type PythonOutput, type PythonOutputTarget } from "./python/python-rexec.js";
export { PyodideMissingError } from "./python/pyodide-version.js";
export { RExec, type RExecOptions, type CallOptions, type ModuleCallOptions, type EngineName, type CapturedOutput, type HostFunction, type OutputTarget } from "./host/rexec.js";
export { DEFAULT_LIMITS, type Limits } from "./host/limits.js";
export type { Verbose } from "./host/verbose.js";
export * from "./host/public-errors.js";
export type { RHooks, LoadedModule, ModuleFormat, HookFileSystem, ResolveKind } from "./loader/types.js";
export { FileSystemHooks, type FileSystemHooksOptions } from "./loader/hooks/file-system-hooks.js";
export { MemoryHooks, type MemoryHooksOptions } from "./loader/hooks/memory-hooks.js";
export { UrlHooks, type UrlHooksOptions } from "./loader/hooks/url-hooks.js";
export type { OpenMode } from "./host/open-mode.js";
// From the modules themselves (not their folders' index): the declarations then load nothing of the engine's.
export { WorkerRExec, type WorkerRExecOptions, type WorkerModeOptions } from "./worker/worker-rexec.js";
export { RExecPool, QueueFullError, type RExecPoolOptions, type PoolRunOptions, type PoolRunResult, type PoolRunStats } from "./pool/pool.js";
