/**
 * Messages between the host thread and a Python worker (py-worker.ts). Every
 * field is plain data: values cross threads by structured clone, never as
 * objects with behaviour.
 *
 * @packageDocumentation
 */

/** What a worker starts with. */
export interface BootData {
  readonly pyodideDir: string;
  /** The interpreter's wasm, compiled with the memory cap (pyodide-files.ts). */
  readonly wasmModule: WebAssembly.Module;
  /** The memory snapshot to start from; absent: make one and post it back. */
  readonly snapshot?: Uint8Array;
  /** The host-call exchange: {@link HOST_CONTROL_BYTES} of control words, then request or reply bytes. */
  readonly hostReply: SharedArrayBuffer;
  readonly resultBytes: number;
  readonly outputBytes: number;
  readonly fsQuotaBytes: number;
  readonly maxFiles: number;
  /** Test-only: no firewall, to show each hostile test's attack works without it. */
  readonly unsafeNoFirewall?: boolean;
}

/**
 * Host calls go through shared memory, not messages: the worker writes the
 * request's JSON into the exchange and blocks; the host thread, waiting with
 * `Atomics.waitAsync`, answers in the same bytes. A message round trip
 * between threads costs ~70 µs here; this one ~20 µs.
 *
 * Control words (Int32): [state, byte length of the request or reply, count
 * of "out" messages the worker had posted before the request]. The host
 * answers only after it has received that many, so the guest's output stays
 * ordered with what its host functions do.
 */
export const HOST_CONTROL_BYTES = 16;
/** `control[STATE]`: no request (IDLE), a request waiting for the host (REQUEST), its reply written (REPLY). */
export const HostState = { IDLE: 0, REQUEST: 1, REPLY: 2 } as const;
export const HostWord = { STATE: 0, LENGTH: 1, OUT_POSTED: 2 } as const;

/** One request to the runner (boot-py.ts) with its CPU budget. */
export interface CallRequest {
  readonly body: Record<string, unknown>;
  readonly timeoutMs: number;
  /**
   * When the sandbox uses the default r_open, the directories it allows, so
   * the worker decides without a round trip; absent: every open asks the host.
   */
  readonly openDirs?: readonly string[];
}

/** How a call ended, as the worker saw it. */
export type CallReply = {
  readonly outputExceeded: boolean;
  readonly timedOut: boolean;
  readonly denied: { path: string; mode: string } | undefined;
  readonly memoryBytes: number;
} & (
  | { readonly kind: "ok"; readonly value: unknown }
  /** `ended`: the guest ended the interpreter itself (os._exit): it is gone. Otherwise sys.exit / SystemExit. */
  | { readonly kind: "exit"; readonly code: number; readonly ended: boolean }
  | { readonly kind: "exception"; readonly name: string; readonly message: string; readonly frames: readonly { file: string; line: number; name: string }[]; readonly restricted: boolean }
  | { readonly kind: "violation"; readonly detail: string }
  | { readonly kind: "fatal"; readonly detail: string; readonly stack: boolean }
  | { readonly kind: "result-too-large" }
  | { readonly kind: "malformed"; readonly detail: string }
);

export type ToWorker = { readonly t: "call"; readonly request: CallRequest };

export type FromWorker =
  | { readonly t: "ready"; readonly memoryBytes: number }
  | { readonly t: "snapshot"; readonly image: Uint8Array }
  | { readonly t: "failed"; readonly detail: string }
  | { readonly t: "out"; readonly stream: "stdout" | "stderr"; readonly chunk: Uint8Array }
  | { readonly t: "done"; readonly reply: CallReply }
  /** Sent the moment the firewall condemns the interpreter (a violation or a guest process exit). */
  | { readonly t: "death"; readonly reply: CallReply };
