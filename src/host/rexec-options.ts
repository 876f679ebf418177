/**
 * The option types of {@link RExec} and its calls (the public API contract's
 * shapes), apart from the class that reads them.
 *
 * @packageDocumentation
 */
import type { Writable } from "node:stream";
import type { EngineVariantName } from "../engine/wasm-variant.js";
import type { RHooks } from "../loader/types.js";
import type { WorkerModeOptions } from "../worker/worker-rexec.js";
import type { DeterministicOptions } from "./deterministic.js";
import type { Limits } from "./limits.js";
import type { Verbose } from "./verbose.js";

/** A host function the guest may call: called with copies, its result (or rejection) copied back. */
export type HostFunction = (...args: any[]) => unknown;

/** Where the s_* methods connect the guest's output: a stream or a function. */
export type OutputTarget = Pick<Writable, "write"> | ((text: string) => void);

/** The QuickJS builds rexec can run: `"quickjs-ng"` (the default) or the classic `"quickjs"`. */
export type EngineName = "quickjs-ng" | "quickjs";
// Kept equal to the engine's own list (a compile-time check; not part of the declarations).
const ENGINE_NAMES_MATCH: [EngineName] extends [EngineVariantName] ? ([EngineVariantName] extends [EngineName] ? true : never) : never = true;
void ENGINE_NAMES_MATCH;

/** Options of {@link RExec}. Everything not granted here is denied. */
export interface RExecOptions {
  /** Where guest modules and files come from (default: an empty MemoryHooks). */
  hooks?: RHooks;
  /** `false` (default), `true` (log decisions to stderr) or a function receiving each line. */
  verbose?: Verbose;
  /** Limits; each defaults to {@link DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
  /**
   * Capabilities the host grants: each value is copied into the guest as a
   * global; each function becomes a guest function that calls it with copies of
   * its arguments. An async function becomes a promise the guest can await.
   */
  globals?: Record<string, unknown>;
  /** What the s_* methods connect guest stdout/stderr to (default: the host's own streams). */
  stdio?: { stdin?: NodeJS.ReadableStream; stdout?: OutputTarget; stderr?: OutputTarget };
  /** Safe builtin modules the guest may import (default: the class's `okBuiltinModules`). */
  okBuiltinModules?: readonly string[];
  /** Environment variable names the guest's `process.env` may show (default: the class's `okEnv`). */
  okEnv?: readonly string[];
  /** Members of the guest's `process` (default: the class's `okProcessNames`). */
  okProcessNames?: readonly string[];
  /**
   * Origins the guest's `fetch` may reach, e.g. `["https://api.example.com", "http://127.0.0.1:8080"]`
   * (`"*"`: any public origin; `"http://localhost:*"`: that scheme and host on any port).
   * Default: the class's `okFetchOrigins` (none: `fetch` rejects).
   * Private and loopback addresses are refused unless that origin itself is listed.
   */
  okFetchOrigins?: readonly string[];
  /** Globals removed from the guest realm (default: the class's `nokBuiltinNames`). */
  nokBuiltinNames?: readonly string[];
  /** Directories (inside the hooks' roots) where the guest may write files. */
  okWritePaths?: readonly string[];
  /** Arguments the guest sees in `process.argv` after the interpreter and script names. */
  argv?: readonly string[];
  /** Which QuickJS build to run (default: the benchmarked choice). */
  engine?: EngineName;
  /**
   * Run the realm in a worker thread: the host's event loop never blocks on
   * guest code, a wall-clock deadline terminates runaway workers, and worker
   * `resourceLimits` back up the engine's own caps. Same API; all methods async.
   */
  worker?: boolean | WorkerModeOptions;
  /**
   * Reproducible runs: `Math.random` and `crypto` from a seeded generator, `Date`
   * and `performance.now()` from a virtual clock that starts at `now` and moves
   * only as guest timers fire (in virtual-time order, without real waiting).
   * `true` means `{ seed: 0, now: 0 }`. See src/host/deterministic.ts.
   */
  deterministic?: boolean | DeterministicOptions;
  /**
   * `"python"`: a Python sandbox instead (a `PythonRExec`, same method names;
   * needs the optional `pyodide` package). Default `"javascript"`.
   */
  language?: "javascript" | "python";
}

/** Options of one eval/exec call. */
export interface CallOptions {
  /**
   * The file name guest stacks show for this code (default `<eval>`). A name
   * ending in `.ts`, `.mts` or `.cts` makes the code TypeScript.
   */
  filename?: string;
  /** `"ts"`: the code is TypeScript (types are stripped first); default `"js"`, or `"ts"` for a `.ts` filename. */
  language?: "js" | "ts";
  /**
   * Cancels the call: a running guest is stopped at its next poll, a queued
   * call never starts, an already-aborted signal rejects at once — with
   * {@link AbortError} (`cause`: the signal's reason). The sandbox stays usable.
   */
  signal?: AbortSignal;
  /**
   * `true`: resolve only once the guest is idle — its timers, host calls and
   * reads done, as `node -e` ends — and reject with the first uncaught error
   * of a timer or unhandled rejection after the code itself finished (the
   * value is the code's own). Default `false`: resolve with the value at once.
   * A guest that never goes idle (`setInterval`) keeps the call running, so
   * a `signal` or the worker's wall-clock deadline is the way to end it.
   */
  untilIdle?: boolean;
}

/** Options of one execfile/import/reload/unload call. */
export interface ModuleCallOptions {
  /** Cancels the call, as {@link CallOptions.signal} does. */
  signal?: AbortSignal;
}

/** Output a guest wrote during the last r_* call. */
export interface CapturedOutput {
  readonly stdout: string;
  readonly stderr: string;
}
