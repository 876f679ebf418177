/**
 * Copying values across the boundary: guest → host (copyOut) and host → guest
 * (copyIn), plus the primitive fast paths that skip the codec.
 *
 * Invariant: the host never holds a guest object and the guest never holds a
 * host object — only copies cross, made by the kernel's codec (host-encode.ts,
 * host-decode.ts) or by the engine's binary JSON behind the kernel's
 * bjsonSafe gate (bjson/), bounded by `limits.resultBytes`, and the host trusts
 * nothing of the guest's answer it has not checked (a primitive string's
 * length, the count and type of the buffers). Functions cross as wrappers
 * (guest functions as host-side callables, host functions as ids in the
 * realm's table). A fast path only takes values the engine transfers exactly.
 *
 * @packageDocumentation
 */
import type { Engine, GuestRef } from "../engine/engine.js";
import { EngineFault, GuestThrow } from "../engine/engine.js";
import { CloneError, MemoryLimitError } from "../host/errors.js";
import { decodeGuestValue } from "./host-decode.js";
import { encodeHostValue } from "./host-encode.js";
import type { RealmCore } from "./realm-core.js";
import { learnBuild } from "./bjson/atoms.js";
import { decodeBjson } from "./bjson/decode.js";
import { encodeBjson } from "./bjson/encode.js";
import { BjsonRefused, type BjsonBuild } from "./bjson/format.js";

/**
 * Binary copying (src/boundary/bjson/) is on unless REXEC_BINARY_COPY=0 —
 * a switch for measuring and for ruling it out, not a tuning knob: both
 * paths give the same values.
 */
const BINARY_COPY = process.env["REXEC_BINARY_COPY"] !== "0";
const NOT_COPIED = Symbol("not copied by the binary path");

/** How many copies took the binary path in this thread (observability for tests and benchmarks). */
export const binaryCopies = { out: 0, in: 0 };

/** Characters the engine's C-string transfer cannot carry (NUL, lone surrogates). */
export const UNSAFE_FOR_ENGINE_STRING = /[\0\ud800-\udfff]/;

export const NOT_PRIMITIVE = Symbol("not a primitive");

/** Makes the host-side callable for guest function `id` (see realm-guest-calls.ts). */
export type GuestFunctionFactory = (id: number, name: string) => (...args: unknown[]) => Promise<unknown>;

/**
 * Copies values in and out of one realm; refs it makes belong to the running call.
 *
 * Structured values go through the engine's binary JSON when they can
 * (bjson/): out, only after the kernel's `bjsonSafe` gate said the C writer
 * can run on the value without running guest code or looping on holes, and
 * only if the host decoder takes every byte; in, only for values the binary
 * reader rebuilds exactly as the JSON codec would. Everything else — and
 * everything when the build's table could not be verified — takes the JSON
 * codec below, unchanged.
 */
export class RealmCopy {
  /** The build's binary table: unknown until first needed, null when binary copying is off. */
  private build: BjsonBuild | null | undefined = BINARY_COPY ? undefined : null;

  constructor(
    private readonly core: RealmCore,
    private readonly guestFunction: GuestFunctionFactory,
  ) {}

  /**
   * Copy a guest value to the host (runs the guest kernel under the current budget).
   * `noLearning`: take the binary path only if this realm has already learned
   * the build's binary tables (thrown values are copied under a short budget
   * that learning them on a cold engine could overrun: the error would then
   * read as unreadable).
   */
  copyOut(engine: Engine, ref: GuestRef, noLearning = false): unknown {
    const primitive = primitiveOf(engine, ref, engine.typeOf(ref));
    if (primitive !== NOT_PRIMITIVE) return primitive;
    if (noLearning && this.build === undefined) return this.copyOutJson(engine, ref);
    const binary = this.copyOutBinary(engine, ref);
    if (binary !== NOT_COPIED) return binary;
    return this.copyOutJson(engine, ref);
  }

  /**
   * Copy out a value the kernel's bjsonSafe gate has just passed, with no
   * guest code run since (host-function arguments: the kernel gates them and
   * hands them straight to the host) — binary, else the JSON codec.
   */
  copyOutGated(engine: Engine, ref: GuestRef): unknown {
    const build = this.binaryBuild(engine);
    const binary = build === null ? NOT_COPIED : this.writeAndDecode(engine, ref, build);
    return binary !== NOT_COPIED ? binary : this.copyOutJson(engine, ref);
  }

  /** The binary path out, or NOT_COPIED when the value must take the JSON codec. */
  private copyOutBinary(engine: Engine, ref: GuestRef): unknown {
    const build = this.binaryBuild(engine);
    if (build === null) return NOT_COPIED;
    const core = this.core;
    const limit = core.options.limits.resultBytes;
    // The gate is kernel code (no guest code) but it walks the value: charged like any guest work.
    const safe = core.temp(engine.call(core.kernel.bjsonSafe, null, [ref, core.temp(engine.newNumber(limit))]));
    if (engine.typeOf(safe) !== "boolean" || engine.getNumber(safe) !== 1) return NOT_COPIED;
    return this.writeAndDecode(engine, ref, build);
  }

  /** Only after the gate: the C writer, then the host decoder; NOT_COPIED on a refusal of either. */
  private writeAndDecode(engine: Engine, ref: GuestRef, build: BjsonBuild): unknown {
    const core = this.core;
    const limit = core.options.limits.resultBytes;
    let bytes: Uint8Array;
    try {
      bytes = engine.encodeBinary(ref);
    } catch (error) {
      if (!(error instanceof GuestThrow)) throw error;
      core.temp(error.value); // the writer refused (a getter, an Error, no memory…): the JSON codec decides
      return NOT_COPIED;
    }
    if (bytes.length > limit) {
      core.options.log(`limit: resultBytes (${limit}) exceeded`);
      throw new MemoryLimitError("resultBytes", limit);
    }
    try {
      const value = decodeBjson(bytes, build, limit);
      binaryCopies.out++;
      return value;
    } catch (error) {
      if (error instanceof BjsonRefused) return NOT_COPIED;
      throw error;
    }
  }

  /** The build's table, learned on first use (bjson/atoms.ts); null when binary copying is off. */
  private binaryBuild(engine: Engine): BjsonBuild | null {
    if (this.build !== undefined) return this.build;
    const core = this.core;
    this.build = null; // while learning (the probes copy with the JSON codec), and on failure
    this.build =
      learnBuild(
        {
          engine,
          viewProbe: () => engine.call(core.kernel.bjsonProbe, null, []),
          copyOutExact: (r) => this.copyOutJson(engine, r),
          free: (r) => engine.free(r),
        },
        core.options.log,
      ) ?? null;
    return this.build;
  }

  /** The JSON codec out (guest/kernel.js encode + host-decode.ts). */
  private copyOutJson(engine: Engine, ref: GuestRef): unknown {
    const core = this.core;
    const limit = core.options.limits.resultBytes;
    const limitRef = core.temp(engine.newNumber(limit));
    // Copying may run guest getters: start with a poll due at once, so the
    // poll counter left high by a tight loop cannot let many long getters run unpolled.
    engine.pollSoon();
    const encoded = core.temp(engine.call(core.kernel.encode, null, [ref, limitRef]));
    const first = core.temp(engine.getProp(encoded, 0));
    const firstType = engine.typeOf(first);
    if (firstType === "object") {
      const reasonRef = core.temp(engine.getProp(encoded, 1));
      const reason = engine.typeOf(reasonRef) === "string" ? engine.getString(reasonRef).slice(0, 200) : "an unknown value";
      if (reason === "size") {
        core.options.log(`limit: resultBytes (${limit}) exceeded`);
        throw new MemoryLimitError("resultBytes", limit);
      }
      throw new CloneError(`cannot copy ${reason} out of the sandbox`);
    }
    if (firstType !== "string") throw new CloneError("the sandbox returned a malformed value (no payload)");
    // A primitive string's length cannot be redefined by the guest: safe to trust.
    const length = engine.getNumber(core.temp(engine.getProp(first, "length")));
    if (length > limit) throw new MemoryLimitError("resultBytes", limit);
    const json = engine.getString(first);
    const count = engine.getNumber(core.temp(engine.getProp(encoded, "length")));
    // One payload plus at most one buffer per byte of the limit: anything else is not the kernel's answer.
    if (!Number.isInteger(count) || count < 1 || count > 1 + limit) throw new CloneError("the sandbox returned a malformed value (buffers)");
    const buffers: Uint8Array[] = [];
    let total = json.length;
    for (let i = 1; i < count; i++) {
      const item = core.temp(engine.getProp(encoded, i));
      let bytes: Uint8Array;
      try {
        bytes = engine.getArrayBuffer(item);
      } catch (error) {
        if (error instanceof EngineFault || error instanceof GuestThrow) throw error;
        throw new CloneError("the sandbox returned a malformed value (not an ArrayBuffer)");
      }
      total += bytes.byteLength;
      if (total > limit) throw new MemoryLimitError("resultBytes", limit);
      buffers.push(bytes);
    }
    return decodeGuestValue(json, buffers, this.guestFunction, limit);
  }

  /**
   * Copy a host value into the guest; returns a ref (owned by the current call).
   * `small`: rexec's own small set-up values, which go through the JSON codec
   * (so a sandbox that never copies anything large never pays for learning the
   * build's binary tables, ~20 ms once per process).
   */
  copyIn(engine: Engine, value: unknown, small = false): GuestRef {
    const core = this.core;
    const build = !small && typeof value === "object" && value !== null ? this.binaryBuild(engine) : null;
    if (build !== null) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = encodeBjson(value, build);
      } catch (error) {
        if (!(error instanceof BjsonRefused)) throw error;
      }
      if (bytes !== undefined) {
        try {
          const ref = core.temp(engine.decodeBinary(bytes));
          binaryCopies.in++;
          return ref;
        } catch (error) {
          if (!(error instanceof GuestThrow)) throw error;
          core.temp(error.value); // too deep or too big for the reader: the JSON codec decides
        }
      }
    }
    const encoded = encodeHostValue(value, (fn) => core.registerHostFunction(fn));
    const args = [core.temp(engine.newString(encoded.json))];
    for (const bytes of encoded.buffers) args.push(core.temp(engine.newArrayBuffer(bytes)));
    return core.temp(engine.call(core.kernel.decode, null, args));
  }
}

/**
 * Fast path out: numbers, booleans and undefined need no codec (strings do:
 * the engine's string read is lossy for lone surrogates and stops at NUL).
 */
export function primitiveOf(engine: Engine, ref: GuestRef, type: string): unknown {
  switch (type) {
    case "number":
      return engine.getNumber(ref);
    case "boolean":
      return engine.getNumber(ref) === 1;
    case "undefined":
      return undefined;
    default:
      return NOT_PRIMITIVE;
  }
}

/** A value the engine can take as it is (see the kernel's isPlainPrimitive). */
export function isEnginePrimitive(value: unknown): boolean {
  return value === undefined || typeof value === "number" || (typeof value === "string" && value.length <= 4096 && !UNSAFE_FOR_ENGINE_STRING.test(value));
}
