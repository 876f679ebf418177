/**
 * Limits: their defaults and the validation of what a host passes in.
 *
 * Every limit is on unless the host raises it; none can be switched off, since a
 * sandbox without a memory or CPU bound is the hole rexec exists to close.
 *
 * @packageDocumentation
 */

/** The limits of one sandbox. All are always on. */
export interface Limits {
  /**
   * Guest heap cap in bytes (default 64 MiB). Enforced by the WebAssembly
   * memory's maximum size, so it holds for every allocation pattern; the host
   * process holds at most this plus a fixed 16 MiB engine baseline per sandbox.
   */
  readonly memoryBytes: number;
  /**
   * CPU time of one call in milliseconds (default 1000): guest code, promise
   * jobs, and guest code run while the result is copied out. Time spent inside
   * host functions or awaiting them is not counted.
   */
  readonly timeoutMs: number;
  /**
   * Wall-clock time one call may spend waiting for host calls, host promises
   * and guest timers (default 30 000). Guest CPU time is bounded by
   * `timeoutMs`; this bounds the waiting, so a call can never hang.
   */
  readonly wallTimeMs: number;
  /**
   * Guest stack in bytes (default 256 KiB; about 1,600 frames of simple
   * recursion). On the main thread the engine shares Node's native stack, so
   * shapes that overflow it first (very deep nesting in source or JSON) end in
   * a `StackLimitError` that disposes the sandbox.
   */
  readonly stackBytes: number;
  /** Bytes of console/stdout/stderr output per call (default 1 MiB). */
  readonly outputBytes: number;
  /** Bytes of a value copied across the boundary — results and host-call arguments (default 8 MiB). */
  readonly resultBytes: number;
}

/** The defaults, frozen. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  memoryBytes: 64 * 1024 * 1024,
  timeoutMs: 1000,
  wallTimeMs: 30_000,
  stackBytes: 256 * 1024,
  outputBytes: 1024 * 1024,
  resultBytes: 8 * 1024 * 1024,
});

interface Range {
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}

const RANGES: Record<keyof Limits, Range> = {
  memoryBytes: { min: 1024 * 1024, max: 2 * 1024 * 1024 * 1024 - 32 * 1024 * 1024, unit: "bytes" },
  timeoutMs: { min: 1, max: 24 * 60 * 60 * 1000, unit: "ms" },
  wallTimeMs: { min: 1, max: 7 * 24 * 60 * 60 * 1000, unit: "ms" },
  // Above 4 MiB the engine's own stack check no longer fires before the
  // native stack of even a 64 MB worker overflows (measured), so no more.
  stackBytes: { min: 16 * 1024, max: 4 * 1024 * 1024, unit: "bytes" },
  outputBytes: { min: 0, max: 2 ** 40, unit: "bytes" },
  resultBytes: { min: 1024, max: 1024 * 1024 * 1024, unit: "bytes" },
};

/** Merge `given` over the defaults, rejecting unknown names and values out of range. */
export function resolveLimits(given: Partial<Limits> | undefined, defaults: Readonly<Limits> = DEFAULT_LIMITS): Limits {
  if (given === undefined) return { ...defaults };
  if (typeof given !== "object" || given === null) throw new TypeError("options.limits must be an object like { memoryBytes, timeoutMs, wallTimeMs, stackBytes, outputBytes, resultBytes }");
  const out: Record<string, number> = { ...defaults };
  for (const [key, value] of Object.entries(given)) {
    const range = RANGES[key as keyof Limits];
    if (!range) {
      throw new TypeError(`unknown limit "${key}"; the limits are ${Object.keys(RANGES).join(", ")}`);
    }
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || !Number.isInteger(value)) {
      throw new TypeError(`limits.${key} must be a whole number of ${range.unit}, got ${typeof value === "number" ? value : typeof value}`);
    }
    if (value < range.min || value > range.max) {
      throw new RangeError(`limits.${key} must be between ${range.min} and ${range.max} ${range.unit}, got ${value}`);
    }
    out[key] = value;
  }
  return out as unknown as Limits;
}
