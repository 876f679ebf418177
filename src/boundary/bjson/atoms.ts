/**
 * What the running engine build writes, learned from the build itself at
 * start — never from a hard-coded list that could silently disagree with it.
 *
 * Invariant: the host decodes binary JSON only with a table this process
 * verified against the running build; on any doubt (another format version,
 * a probe that does not round-trip) the binary path is off and the old codec
 * copies everything.
 *
 * - Built-in atoms (property names such as `length`, `name`, `message`) are
 *   written as the engine's internal atom numbers. The reader accepts exactly
 *   the numbers below the build's first dynamic atom, so that bound is found
 *   by asking the engine to read single-atom probes (binary search), and the
 *   name of every number by reading one object per atom and copying the
 *   result out with the old (exact) codec. Symbol atoms have no string name
 *   and stay unknown: a value that uses one is refused, not misread.
 * - Typed-array kinds are written as a class index: read from probes the
 *   guest kernel makes with the constructors it captured before guest code.
 * - Verified: an object with every learned name as a key, written by the
 *   host (names as strings), read and re-written by the engine (names as
 *   numbers), must decode to the same keys in the same order.
 *
 * The table depends only on the build, so it is learned once per process
 * per build (keyed by a fingerprint of the probe bytes) and shared.
 *
 * @packageDocumentation
 */
import type { Engine, GuestRef } from "../../engine/engine.js";
import { GuestThrow } from "../../engine/engine.js";
import { decodeBjson } from "./decode.js";
import { encodeBjson } from "./encode.js";
import { BJSON_VERSION, Tag, type BjsonBuild } from "./format.js";

/** How atoms.ts reaches the realm it learns from. */
export interface BuildProbe {
  readonly engine: Engine;
  /** The kernel's `[name, view, name, view…]` probe (a fresh guest ref the caller frees). */
  viewProbe(): GuestRef;
  /** Copy a guest value out with the old codec. */
  copyOutExact(ref: GuestRef): unknown;
  /** Free `ref` now. */
  free(ref: GuestRef): void;
}

/** Learned builds by fingerprint; `null` means "refused" (logged once). */
const learned = new Map<string, BjsonBuild | null>();

/** The tables this process verified so far (for tests). */
export function learnedBuilds(): BjsonBuild[] {
  return [...learned.values()].filter((b): b is BjsonBuild => b !== null);
}

/** Upper bound of the search for the build's number of built-in atoms. */
const MAX_BUILTIN_ATOMS = 4096;

/**
 * A cheap fingerprint of the running build (every realm computes it once, on
 * its first structured copy): the bytes the engine writes for the kernel's
 * view probe and for a sample object whose keys are common built-in names
 * (so a build with other tags, another format version or other atom numbers
 * gets a fingerprint of its own). Undefined when the engine refuses a probe.
 */
function fingerprintOf(probe: BuildProbe): string | undefined {
  const { engine } = probe;
  const views = probe.viewProbe();
  let fingerprint: string;
  try {
    fingerprint = Buffer.from(engine.encodeBinary(views)).toString("hex");
  } catch (error) {
    if (!(error instanceof GuestThrow)) throw error;
    probe.free(error.value);
    return undefined;
  } finally {
    probe.free(views);
  }
  const sample = reads(probe, FINGERPRINT_SAMPLE);
  if (sample === undefined) return fingerprint + ".unread";
  try {
    return fingerprint + "." + Buffer.from(engine.encodeBinary(sample)).toString("hex");
  } catch (error) {
    if (!(error instanceof GuestThrow)) throw error;
    probe.free(error.value);
    return fingerprint + ".unwritten";
  } finally {
    probe.free(sample);
  }
}

/** The build's table, or undefined (with a log line the first time) when binary copying must stay off. */
export function learnBuild(probe: BuildProbe, log: (line: string) => void): BjsonBuild | undefined {
  const { engine } = probe;
  const fingerprint = fingerprintOf(probe);
  if (fingerprint === undefined) return refuse("", "a probe the engine refused", log);
  const known = learned.get(fingerprint);
  if (known !== undefined) return known ?? undefined;
  const version = parseInt(fingerprint.slice(0, 2), 16);
  if (version !== BJSON_VERSION) return refuse(fingerprint, `format version ${version} (this code reads ${BJSON_VERSION})`, log);

  // First time for this build: learn the tables, then verify them.
  const views = probe.viewProbe();
  const viewKinds: Array<string | undefined> = [];
  try {
    const names = probe.copyOutExact(views);
    if (!Array.isArray(names)) return refuse(fingerprint, "the view probe", log);
    for (let i = 1; i < names.length; i += 2) {
      const ref = engine.getProp(views, i);
      let bytes: Uint8Array;
      try {
        bytes = engine.encodeBinary(ref);
      } finally {
        probe.free(ref);
      }
      // version, zero atoms, TYPED_ARRAY, then the kind tag.
      if (bytes[0] !== BJSON_VERSION || bytes[1] !== 0 || bytes[2] !== Tag.TYPED_ARRAY || typeof names[i - 1] !== "string") return refuse(fingerprint, "the typed array probe", log);
      viewKinds[bytes[3]!] = names[i - 1] as string;
    }
  } catch (error) {
    if (error instanceof GuestThrow) {
      probe.free(error.value);
      return refuse(fingerprint, "a probe the engine refused", log);
    }
    throw error;
  } finally {
    probe.free(views);
  }
  const end = builtinAtomEnd(probe);
  if (end === undefined) return refuse(fingerprint, "the built-in atom bound", log);
  const atomNames = builtinAtomNames(probe, end);
  if (atomNames === undefined) return refuse(fingerprint, "the built-in atom names", log);
  const atomIds = new Map<string, number>();
  atomNames.forEach((name, id) => {
    if (name !== undefined) atomIds.set(name, id);
  });
  const build: BjsonBuild = { atomNames, atomIds, viewKinds };
  if (!verify(probe, build)) return refuse(fingerprint, "the atom round trip", log);
  learned.set(fingerprint, build);
  return build;
}

function refuse(fingerprint: string, what: string, log: (line: string) => void): undefined {
  if (!learned.has(fingerprint)) log(`binary copy disabled for this engine build (${what} did not match); values are copied with the JSON codec`);
  learned.set(fingerprint, null);
  return undefined;
}

/** `{ length, name, prototype, constructor, message, __proto__ }` with names as strings. */
const FINGERPRINT_SAMPLE = (() => {
  const names = ["length", "name", "prototype", "constructor", "message", "__proto__"];
  const out: number[] = [BJSON_VERSION, names.length];
  for (const n of names) out.push(1, n.length * 2, ...Array.from(n, (c) => c.charCodeAt(0)));
  out.push(Tag.OBJECT, names.length);
  names.forEach((_, i) => out.push((i + 1) * 2, Tag.NULL));
  return Uint8Array.from(out);
})();

/** Bytes of `{ <built-in atom id>: null }` for each id: an object per atom, in one array. */
function atomProbeBytes(ids: readonly number[]): Uint8Array {
  const out: number[] = [BJSON_VERSION];
  const leb = (v: number): void => {
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
  };
  leb(ids.length);
  for (const id of ids) out.push(0, id & 0xff, (id >> 8) & 0xff, (id >> 16) & 0xff, id >>> 24);
  out.push(Tag.ARRAY);
  leb(ids.length);
  ids.forEach((_, i) => {
    out.push(Tag.OBJECT, 1);
    leb((i + 1) * 2);
    out.push(Tag.NULL);
  });
  return Uint8Array.from(out);
}

function reads(probe: BuildProbe, bytes: Uint8Array): GuestRef | undefined {
  try {
    return probe.engine.decodeBinary(bytes);
  } catch (error) {
    if (!(error instanceof GuestThrow)) throw error;
    probe.free(error.value);
    return undefined;
  }
}

/** The first atom number the reader refuses as "not built in" (ids 1..end-1 are built in). */
function builtinAtomEnd(probe: BuildProbe): number | undefined {
  const accepts = (id: number): boolean => {
    const ref = reads(probe, atomProbeBytes([id]));
    if (ref !== undefined) probe.free(ref);
    return ref !== undefined;
  };
  if (!accepts(1) || accepts(MAX_BUILTIN_ATOMS)) return undefined;
  let lo = 1; // accepted
  let hi = MAX_BUILTIN_ATOMS; // refused
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (accepts(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}

function builtinAtomNames(probe: BuildProbe, end: number): Array<string | undefined> | undefined {
  const ids = Array.from({ length: end - 1 }, (_, i) => i + 1);
  const ref = reads(probe, atomProbeBytes(ids));
  if (ref === undefined) return undefined;
  let copied: unknown;
  try {
    copied = probe.copyOutExact(ref);
  } finally {
    probe.free(ref);
  }
  if (!Array.isArray(copied) || copied.length !== ids.length) return undefined;
  const names: Array<string | undefined> = [undefined];
  for (const item of copied) {
    // A symbol atom's key does not cross (the old codec copies string keys only).
    const keys = item !== null && typeof item === "object" ? Object.keys(item) : [];
    if (keys.length > 1) return undefined;
    names.push(keys.length === 1 && (item as Record<string, unknown>)[keys[0]!] === null ? keys[0] : undefined);
  }
  // Names must be distinct: a number maps to one name and back.
  const distinct = new Set(names.filter((n) => n !== undefined));
  if (distinct.size !== names.filter((n) => n !== undefined).length) return undefined;
  return names;
}

/** Host writes every name as a string; the engine reads and re-writes it as its number; it must come back. */
function verify(probe: BuildProbe, build: BjsonBuild): boolean {
  const sample: Record<string, number> = Object.create(null) as Record<string, number>;
  const names = build.atomNames.filter((n): n is string => n !== undefined && !/^(?:0|[1-9][0-9]*)$/.test(n));
  names.forEach((n, i) => Object.defineProperty(sample, n, { value: i, enumerable: true, writable: true, configurable: true }));
  const ref = reads(probe, encodeBjson(sample, build));
  if (ref === undefined) return false;
  let back: unknown;
  try {
    back = decodeBjson(probe.engine.encodeBinary(ref), build, 1 << 24);
  } catch {
    return false;
  } finally {
    probe.free(ref);
  }
  const keys = back !== null && typeof back === "object" ? Object.keys(back) : [];
  return keys.length === names.length && keys.every((k, i) => k === names[i] && (back as Record<string, unknown>)[k] === i);
}
