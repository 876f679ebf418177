/**
 * Messages between a {@link WorkerRExec} and its worker thread. Values inside
 * are always {@link Wire}-encoded (see codec.ts).
 *
 * @packageDocumentation
 */
import type { Limits } from "../host/limits.js";
import type { EngineName } from "../host/rexec.js";
import type { Wire } from "./codec.js";
import type { HostCallMessage, HostSettleMessage, ReleaseMessage } from "./link.js";

/** Hooks proxied to the main thread: host-function ids of each method. */
export interface HooksSpec {
  readonly cwd: string;
  readonly resolve: number;
  readonly load: number;
  /** Ids of the `fs` methods, when the hooks have an `fs`. */
  readonly fs?: Readonly<Record<string, number>>;
}

/** What the worker needs to build its realm: everything here is cloneable. */
export interface WorkerConfig {
  readonly limits: Limits;
  /** Policy statics of the host's class (okBuiltinModules, okEnv…), copied onto the worker's class. */
  readonly statics: Readonly<Record<string, unknown>>;
  /** Cloneable RExec options (policy lists, argv, engine, okWritePaths). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly globals: Wire | undefined;
  readonly hooks: HooksSpec | undefined;
  /** Host-function id of a subclass's `r_open`, when it overrides the default. */
  readonly rOpen: number | undefined;
  readonly verbose: boolean;
  readonly engine: EngineName | undefined;
}

/** Data given to the worker at start. */
export interface WorkerStartData {
  readonly config: WorkerConfig;
  readonly replyPort: import("node:worker_threads").MessagePort;
  readonly signal: SharedArrayBuffer;
  /**
   * Per-call cancellation: {@link ABORT_SLOTS} Int32 slots; the host stores the
   * seq of a call it aborted in slot `seq % ABORT_SLOTS`, and the worker reads
   * the running call's slot at every engine poll (see worker-entry.ts).
   */
  readonly abortSlots: SharedArrayBuffer;
}

/** Main → worker. */
export type ToWorker =
  /** `abortable`: the host has an AbortSignal for this call (it may send "abort" for its seq). */
  | { readonly t: "call"; readonly seq: number; readonly method: string; readonly args: Wire; readonly abortable?: boolean }
  /** The host aborted call `seq`: drop it if queued, stop it if running. */
  | { readonly t: "abort"; readonly seq: number }
  /**
   * Call a guest function. `nested`: called by a host function on behalf of
   * the running call, so it runs inside that call rather than queued behind it.
   */
  | { readonly t: "callFn"; readonly seq: number; readonly fid: number; readonly args: Wire; readonly nested?: boolean }
  | { readonly t: "release"; readonly ids: readonly number[] }
  | HostSettleMessage;

/** Worker → main. */
export type FromWorker =
  | { readonly t: "ready" }
  | { readonly t: "startError"; readonly error: Wire }
  | { readonly t: "result"; readonly seq: number; readonly ok: boolean; readonly value: Wire; readonly output: { stdout: string; stderr: string } | undefined }
  | { readonly t: "out"; readonly stream: "stdout" | "stderr"; readonly text: string }
  | { readonly t: "log"; readonly line: string }
  | HostCallMessage
  | ReleaseMessage;

/** Slots of {@link WorkerStartData.abortSlots}: calls this many apart share one (only if both are in flight). */
export const ABORT_SLOTS = 64;

/** Methods a worker forwards: the seed's r_/s_ names and their camelCase aliases. */
export const FORWARDED_METHOD = /^(?:[rs]_[a-z][a-z_]*|eval|exec|execFile|import|reload|unload)$/;
