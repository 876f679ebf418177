/**
 * The C interface of the pinned QuickJS builds (quickjs-emscripten's
 * `interface.c`), typed with plain numbers, and the few memory helpers every
 * caller needs. Pointers are wasm addresses; a `JSValue*` returned by a
 * `QTS_*` function is owned by the caller until `QTS_FreeValuePointer`.
 *
 * @packageDocumentation
 */
import type { EngineInstance } from "./engine-instance.js";

/** The `QTS_*` functions rexec calls (cwrap'd by the build's ffi class). */
export interface RawFFI {
  QTS_NewRuntime(): number;
  QTS_FreeRuntime(rt: number): void;
  QTS_NewContext(rt: number, intrinsics: number): number;
  QTS_FreeContext(ctx: number): void;
  QTS_RuntimeSetMemoryLimit(rt: number, limit: number): void;
  QTS_RuntimeSetMaxStackSize(rt: number, bytes: number): void;
  QTS_RuntimeEnableInterruptHandler(rt: number): void;
  QTS_RuntimeEnableModuleLoader(rt: number, customNormalize: number): void;
  QTS_GetUndefined(): number;
  QTS_FreeValuePointer(ctx: number, value: number): void;
  QTS_FreeValuePointerRuntime(rt: number, value: number): void;
  QTS_FreeCString(ctx: number, str: number): void;
  QTS_DupValuePointer(ctx: number, value: number): number;
  QTS_NewArrayBuffer(ctx: number, buffer: number, length: number): number;
  QTS_NewFloat64(ctx: number, num: number): number;
  QTS_GetFloat64(ctx: number, value: number): number;
  QTS_NewString(ctx: number, str: number): number;
  QTS_GetString(ctx: number, value: number): number;
  QTS_GetArrayBuffer(ctx: number, value: number): number;
  QTS_GetArrayBufferLength(ctx: number, value: number): number;
  QTS_IsJobPending(rt: number): number;
  QTS_ExecutePendingJob(rt: number, max: number, ctxOut: number): number;
  QTS_GetProp(ctx: number, obj: number, key: number): number;
  QTS_GetPropNumber(ctx: number, obj: number, index: number): number;
  QTS_SetProp(ctx: number, obj: number, key: number, value: number): void;
  QTS_Call(ctx: number, fn: number, thisObj: number, argc: number, argv: number): number;
  QTS_ResolveException(ctx: number, maybeException: number): number;
  QTS_Eval(ctx: number, code: number, length: number, fileName: string, detectModule: number, flags: number): number;
  QTS_Typeof(ctx: number, value: number): number;
  QTS_GetGlobalObject(ctx: number): number;
  QTS_NewPromiseCapability(ctx: number, resolveFuncsOut: number): number;
  QTS_PromiseState(ctx: number, promise: number): number;
  QTS_PromiseResult(ctx: number, promise: number): number;
  QTS_NewFunction(ctx: number, name: string, length: number, isConstructor: boolean, hostRefId: number): number;
  QTS_ArgvGetJSValueConstPointer(argv: number, index: number): number;
  QTS_Throw(ctx: number, error: number): number;
  QTS_NewError(ctx: number): number;
  QTS_bjson_encode(ctx: number, value: number): number;
  QTS_bjson_decode(ctx: number, data: number): number;
}

/** `JS_EVAL_TYPE_GLOBAL` / `JS_EVAL_TYPE_MODULE`. */
export const EVAL_GLOBAL = 0;
export const EVAL_MODULE = 1;
/** `JSPromiseStateEnum`; negative means "not a promise". */
export const PROMISE_PENDING = 0;
export const PROMISE_FULFILLED = 1;

/** The typed ffi of `instance`. */
export function rawFFI(instance: EngineInstance): RawFFI {
  return instance.ffi as unknown as RawFFI;
}

/** A NUL-terminated UTF-8 copy of `text` in engine memory (caller frees); [address, byte length]. */
export function heapString(instance: EngineInstance, text: string): [address: number, length: number] {
  const em = instance.em;
  const length = em.lengthBytesUTF8(text);
  const address = em._malloc(length + 1);
  if (address === 0) throw new RangeError("out of engine memory for a string");
  em.stringToUTF8(text, address, length + 1);
  return [address, length];
}

/** Read a C string the engine returned, then free it with `free`. */
export function takeCString(instance: EngineInstance, address: number, free: (address: number) => void): string {
  if (address === 0) throw new RangeError("the engine returned no string (out of memory?)");
  try {
    return instance.em.UTF8ToString(address);
  } finally {
    free(address);
  }
}
