/**
 * The engine interface: the only thing the boundary layer knows about the
 * JavaScript engine that runs guest code.
 *
 * Guest values are named by opaque {@link GuestRef} numbers, never by engine
 * handles, so another engine (or another QuickJS build) can be put behind
 * this interface without touching the layers above. A ref stays valid until
 * {@link Engine.free} or until the engine is disposed.
 *
 * @packageDocumentation
 */

/** An opaque reference to a guest value, valid until freed or the engine dies. */
export type GuestRef = number & { readonly __guestRef: unique symbol };

/** What a host callback called by guest code returns: a ref the engine takes ownership of, or nothing. */
export type HostCallback = (args: readonly GuestRef[]) => GuestRef | undefined;

/**
 * The guest threw. `value` is a ref to the thrown guest value (owned by the
 * catcher, who must free it).
 */
export class GuestThrow {
  constructor(readonly value: GuestRef) {}
}

/**
 * The engine can no longer be used: its native stack overflowed, the wasm code
 * trapped, or it was disposed. The engine has already dropped its instance.
 */
export class EngineFault extends Error {
  constructor(
    readonly kind: "stack" | "memory" | "trap" | "disposed",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "EngineFault";
  }
}

/** The state of a guest promise. */
export type PromiseState =
  | { readonly state: "pending" }
  | { readonly state: "fulfilled"; readonly value: GuestRef }
  | { readonly state: "rejected"; readonly value: GuestRef };

/** Module loading callbacks, answered synchronously from the loader's cache. */
export interface EngineModuleLoader {
  /** Canonical id of `specifier` imported from `referrer`; throw a string to fail the import. */
  normalize(referrer: string, specifier: string): string;
  /** ESM source text of `id`; throw a string to fail the import. */
  load(id: string): string;
}

/** Options for creating an engine. */
export interface EngineOptions {
  /** Hard cap on the guest heap, enforced by the wasm memory's maximum size. */
  readonly memoryBytes: number;
  /** Engine stack limit for guest recursion. */
  readonly stackBytes: number;
  /** Called by the engine while guest code runs; return true to interrupt it. */
  readonly shouldInterrupt: () => boolean;
}

/**
 * One guest realm: a runtime and a context in their own WebAssembly instance.
 *
 * All methods are synchronous and throw {@link GuestThrow} when guest code
 * throws, and {@link EngineFault} when the engine itself can no longer run.
 */
export interface Engine extends Disposable {
  /** False once disposed or faulted. */
  readonly alive: boolean;
  /** Bytes of wasm linear memory in use (grows, never shrinks). */
  readonly heapBytes: number;
  /** The wasm memory's maximum, the hard cap. */
  readonly heapLimitBytes: number;
  /** How many times the memory cap refused to grow the heap (see heap-growth.ts). */
  readonly refusedHeapGrowths: number;

  /** Evaluate a classic script in the global scope; returns its completion value. */
  evalScript(code: string, fileName: string): GuestRef;
  /** Evaluate an ES module; returns a promise for its namespace (or the namespace). */
  evalModule(code: string, fileName: string): GuestRef;
  /** Call `fn` with `thisArg` (undefined when null) and `args`. */
  call(fn: GuestRef, thisArg: GuestRef | null, args: readonly GuestRef[]): GuestRef;
  /**
   * Create a guest function that calls `impl` on the host. A `slot` names it
   * in a realm image (engine-image.ts): engines restored from the image bind
   * the slot to their own tenant's callback.
   */
  newFunction(name: string, impl: HostCallback, slot?: string): GuestRef;
  newString(value: string): GuestRef;
  newNumber(value: number): GuestRef;
  newArrayBuffer(bytes: Uint8Array): GuestRef;
  undefinedRef(): GuestRef;
  /** The global object. */
  globalRef(): GuestRef;
  typeOf(ref: GuestRef): string;
  /** Read a primitive string (throws if `ref` is not a string). */
  getString(ref: GuestRef): string;
  getNumber(ref: GuestRef): number;
  /** Copy the bytes of a guest ArrayBuffer. */
  getArrayBuffer(ref: GuestRef): Uint8Array;
  /** Read an own or inherited property; may run guest getters. */
  getProp(obj: GuestRef, key: string | number): GuestRef;
  setProp(obj: GuestRef, key: string, value: GuestRef): void;
  /** A new guest promise with host-side resolve/reject (which take ownership of nothing). */
  newPromise(): { promise: GuestRef; resolve(value: GuestRef): void; reject(value: GuestRef): void };
  promiseState(promise: GuestRef): PromiseState;
  /** True for a genuine promise object (a brand check: runs no guest code). */
  isPromise(ref: GuestRef): boolean;
  /** Run queued promise jobs; returns how many ran. A job that throws ends the run with GuestThrow. */
  runJobs(max?: number): number;
  hasPendingJobs(): boolean;
  setModuleLoader(loader: EngineModuleLoader): void;
  /**
   * Make the engine call its interrupt handler at its very next poll instead of
   * after up to ~10000 polls: called after a native call that may have run long,
   * so a loop around such calls cannot run on past the deadline. False when this
   * engine build cannot do it (then the next scheduled poll is the earliest).
   */
  pollSoon(): boolean;
  /**
   * The reasons of guest promises rejected with no handler that got none
   * since, oldest first, at most `limit`; the engine then forgets all of them
   * (so call it once per call, at its end). A promise whose rejected state was
   * read with {@link Engine.promiseState} counts as handled: the host awaits
   * it. Refs are owned by the caller. Empty when this engine build cannot
   * track rejections (then they are ignored, never misreported).
   */
  takeUnhandledRejections(limit?: number): GuestRef[];
  /**
   * Serialise `ref` with the engine's C-level binary JSON writer
   * (`JS_WriteObject` with object references) and return a host copy of the
   * bytes. Runs in C without polling the interrupt handler: the caller must
   * have made sure the value is safe to write (see src/boundary/bjson/).
   * Throws {@link GuestThrow} when the writer refuses the value.
   */
  encodeBinary(ref: GuestRef): Uint8Array;
  /**
   * Build a guest value from binary JSON bytes (`JS_ReadObject`, no object
   * references). Throws {@link GuestThrow} when the reader refuses the bytes.
   */
  decodeBinary(bytes: Uint8Array): GuestRef;
  /** Release a ref. Freeing a ref twice is a bug and throws. */
  free(ref: GuestRef): void;
  dispose(): void;
}
