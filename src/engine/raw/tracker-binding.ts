/**
 * The rejection tracker's view of a raw-ffi engine (see rejection-tracker.ts
 * for what it protects): holding values by address, evaluating its self-test.
 *
 * @packageDocumentation
 */
import type { HeldValue, TrackerHost } from "../rejection-tracker.js";
import type { EngineVariantName } from "../wasm-variant.js";
import type { EngineInstance } from "./engine-instance.js";
import { EVAL_GLOBAL, heapString, rawFFI } from "./raw-ffi.js";

/** A dup'd value the tracker holds until it disposes it. */
class Held implements HeldValue {
  alive = true;
  constructor(
    readonly value: number,
    private readonly release: (address: number) => void,
  ) {}
  dispose(): void {
    if (!this.alive) return;
    this.alive = false;
    this.release(this.value);
  }
}

/** The {@link TrackerHost} of the runtime `rt` / context `ctx` living in `instance`. */
export function trackerHost(instance: EngineInstance, rt: number, ctx: number, variant: EngineVariantName, log: (line: string) => void): TrackerHost {
  const ffi = rawFFI(instance);
  const em = instance.em;
  const release = (address: number) => ffi.QTS_FreeValuePointer(ctx, address);
  const unwrap = (result: number): number => {
    const error = ffi.QTS_ResolveException(ctx, result);
    if (error !== 0) {
      ffi.QTS_FreeValuePointer(ctx, result);
      ffi.QTS_FreeValuePointer(ctx, error);
      throw new Error("the tracker's probe threw");
    }
    return result;
  };
  return {
    memory: instance.memory,
    table: instance.table,
    runtimePointer: rt,
    variant,
    recorderCache: instance.recorderCache,
    hold: (address) => {
      const pointer = ffi.QTS_DupValuePointer(ctx, address);
      return pointer === 0 ? undefined : new Held(pointer, release);
    },
    freeValueAt: (address) => ffi.QTS_FreeValuePointer(ctx, address),
    malloc: (bytes) => em._malloc(bytes),
    free: (address) => em._free(address),
    evalScript: (code) => {
      const [address, length] = heapString(instance, code);
      try {
        return new Held(unwrap(ffi.QTS_Eval(ctx, address, length, "<rexec:rejection-probe>", 0, EVAL_GLOBAL)), release);
      } finally {
        em._free(address);
      }
    },
    callOne: (fn, arg) => {
      const argv = em._malloc(4);
      if (argv === 0) throw new RangeError("out of engine memory");
      try {
        new Uint32Array(instance.memory.buffer, argv, 1)[0] = arg.value;
        release(unwrap(ffi.QTS_Call(ctx, fn.value, ffi.QTS_GetUndefined(), 1, argv)));
      } finally {
        em._free(argv);
      }
    },
    runJobs: () => {
      const out = em._malloc(4);
      if (out === 0) throw new RangeError("out of engine memory");
      try {
        new Uint32Array(instance.memory.buffer, out, 1)[0] = 0;
        const result = ffi.QTS_ExecutePendingJob(rt, -1, out);
        if (new Uint32Array(instance.memory.buffer, out, 1)[0] === 0) ffi.QTS_FreeValuePointerRuntime(rt, result);
        else release(unwrap(result));
      } finally {
        em._free(out);
      }
    },
    log,
  };
}
