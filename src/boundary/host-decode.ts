/**
 * Guest → host: rebuild a value from the wire format (see wire.ts).
 *
 * Everything here is data chosen by a possibly hostile guest: the kernel that
 * produced it lives in the guest realm and the guest may have subverted it. So
 * nothing is trusted — every node, index, tag, key and number is validated —
 * and nothing runs guest code: this is a parse of a string plus copies of
 * ArrayBuffers. Threats closed:
 *
 * - prototype pollution: object keys are *defined* on fresh objects, so a
 *   `__proto__` or `constructor` key is plain data;
 * - depth: the format is flat and the rebuild is three loops, no recursion;
 * - size: the caller bounds the JSON length and buffer bytes before this runs;
 *   here the value's host heap and its tree-walk size (shared references
 *   counted every time a walk reaches them) are bounded before it is built
 *   (decode-cost.ts);
 * - implicit calls: a guest function never lands under a name host built-ins
 *   call on their own (`then`, `toJSON`, `toString`, `valueOf`, …; see
 *   implicit-calls.ts) — such a property is left out;
 * - bogus numbers: array lengths must match their slots, views must fit their
 *   buffers, BigInts are parsed from hex (linear time).
 *
 * @packageDocumentation
 */
import { CloneError, GuestError, MemoryLimitError } from "../host/errors.js";
import { excessCost } from "./decode-cost.js";
import { formatGuestStack, parseGuestStack } from "./guest-stack.js";
import { isImplicitCallName } from "./implicit-calls.js";
import { noteStackTop } from "../host/error-enrich.js";
import { HOLE, NAN, NEG_INF, NEG_ZERO, POS_INF, UNDEF, VIEW_KINDS, type ViewKind } from "./wire.js";

/** Makes the host-side callable for a guest function id. */
export type GuestFunctionFactory = (id: number, name: string) => (...args: unknown[]) => Promise<unknown>;

const HEX = /^-?[0-9a-f]+$/;
const REGEXP_FLAGS = /^[dgimsuyv]*$/;
/** Largest BigInt copied out: 2^18 bits (its decimal text costs the host ~25 ms). */
const MAX_BIGINT_HEX_DIGITS = 1 << 16;
/** Longest RegExp source copied out. */
const MAX_REGEXP_SOURCE = 1 << 16;

function fail(what: string): never {
  throw new CloneError(`the sandbox returned a malformed value (${what})`);
}

/**
 * Decode `json` (+ `buffers`) produced by the guest kernel. `limit` (the
 * call's `resultBytes`) bounds what the built value costs the host to hold
 * and to walk; past it a {@link MemoryLimitError} is thrown before anything
 * is built.
 */
export function decodeGuestValue(json: string, buffers: readonly Uint8Array[], guestFunction: GuestFunctionFactory, limit: number): unknown {
  let nodes: unknown;
  try {
    nodes = JSON.parse(json);
  } catch {
    fail("not JSON");
  }
  if (!Array.isArray(nodes) || nodes.length === 0) fail("no nodes");
  const count = nodes.length;
  for (let i = 0; i < count; i++) {
    const n = nodes[i];
    if (!Array.isArray(n) || typeof n[0] !== "string") fail(`node ${i}`);
  }
  const list = nodes as unknown[][];
  const values: unknown[] = new Array(count);
  const usedBuffers = buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);

  const checkSlot = (s: unknown): void => {
    if (s === null || typeof s === "string" || typeof s === "boolean") return;
    if (typeof s === "number") {
      if (!Number.isFinite(s)) fail("number");
      return;
    }
    if (!Array.isArray(s) || s.length !== 1 || !Number.isInteger(s[0]) || s[0] < HOLE || s[0] >= count) fail("reference");
  };
  const resolve = (s: unknown): unknown => {
    if (!Array.isArray(s)) return s;
    const i = s[0] as number;
    if (i >= 0) return values[i];
    switch (i) {
      case UNDEF:
      case HOLE:
        return undefined;
      case NAN:
        return NaN;
      case POS_INF:
        return Infinity;
      case NEG_INF:
        return -Infinity;
      case NEG_ZERO:
        return -0;
      default:
        return fail("constant");
    }
  };
  const bufferAt = (i: unknown): ArrayBuffer => {
    if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= usedBuffers.length) fail("buffer index");
    return usedBuffers[i as number]!;
  };
  const str = (v: unknown, what: string): string => (typeof v === "string" ? v : fail(what));

  // Pass 1: validate every node and create containers.
  for (let i = 0; i < count; i++) {
    const n = list[i]!;
    const tag = n[0];
    switch (tag) {
      case "v":
        if (i !== 0 || n.length !== 2) fail("root");
        checkSlot(n[1]);
        break;
      case "o":
        if (n.length % 2 !== 1) fail("object");
        for (let j = 1; j < n.length; j += 2) {
          str(n[j], "key");
          checkSlot(n[j + 1]);
        }
        values[i] = {};
        break;
      case "a": {
        const length = n[1];
        if (!Number.isInteger(length) || length !== n.length - 2) fail("array length");
        for (let j = 2; j < n.length; j++) checkSlot(n[j]);
        values[i] = new Array(length as number);
        break;
      }
      case "n": {
        const hex = str(n[1], "bigint");
        if (!HEX.test(hex)) fail("bigint");
        // Converting a BigInt to decimal text is super-linear on the host (V8: ~150 ms at
        // 2^20 bits, minutes near resultBytes); a careless `${x}` must stay cheap.
        if (hex.length - (hex[0] === "-" ? 1 : 0) > MAX_BIGINT_HEX_DIGITS) {
          throw new CloneError(`cannot copy a BigInt of more than ${MAX_BIGINT_HEX_DIGITS * 4} bits out of the sandbox (converting it to text would cost the host seconds); return it as a hex string (x.toString(16))`);
        }
        values[i] = hex[0] === "-" ? -BigInt("0x" + hex.slice(1)) : BigInt("0x" + hex);
        break;
      }
      case "d":
        checkSlot(n[1]);
        break;
      case "r": {
        const flags = str(n[2], "regexp flags");
        if (!REGEXP_FLAGS.test(flags)) fail("regexp flags");
        // Compiling a pattern is host work on guest text; real patterns are short.
        if (str(n[1], "regexp").length > MAX_REGEXP_SOURCE) {
          throw new CloneError(`cannot copy a RegExp whose source is longer than ${MAX_REGEXP_SOURCE} characters out of the sandbox; return its source as a string`);
        }
        try {
          values[i] = new RegExp(str(n[1], "regexp"), flags);
        } catch {
          fail("regexp");
        }
        break;
      }
      case "m":
        if (n.length % 2 !== 1) fail("map");
        for (let j = 1; j < n.length; j++) checkSlot(n[j]);
        values[i] = new Map();
        break;
      case "s":
        for (let j = 1; j < n.length; j++) checkSlot(n[j]);
        values[i] = new Set();
        break;
      case "b":
        values[i] = bufferAt(n[1]);
        break;
      case "t":
        if (!Object.hasOwn(VIEW_KINDS, str(n[1], "view kind"))) fail("view kind");
        bufferAt(n[2]);
        if (!Number.isInteger(n[3]) || !Number.isInteger(n[4])) fail("view bounds");
        break;
      case "e": {
        const name = str(n[1], "error name");
        const message = str(n[2], "error message");
        const stack = str(n[3], "error stack");
        if (n.length % 2 !== 0) fail("error");
        for (let j = 4; j < n.length; j += 2) {
          str(n[j], "key");
          checkSlot(n[j + 1]);
        }
        const frames = parseGuestStack(stack);
        values[i] = new GuestError(name.slice(0, 200), message, formatGuestStack(frames), frames);
        // Whether the top parsed frame is where it was thrown (EvalMemory.mapError improves only those).
        noteStackTop(values[i] as GuestError, stack);
        break;
      }
      case "f": {
        if (!Number.isInteger(n[1]) || (n[1] as number) <= 0) fail("function id");
        values[i] = guestFunction(n[1] as number, typeof n[2] === "string" ? n[2].slice(0, 128) : "");
        break;
      }
      default:
        fail(`tag ${String(tag).slice(0, 10)}`);
    }
  }
  // Every node is valid now (shapes, indices, strings): weigh it before filling anything in.
  refuseThenableRoot(list);
  const excess = excessCost(list, buffers, limit);
  if (excess !== undefined) {
    throw new MemoryLimitError(
      "resultBytes",
      limit,
      excess === "walk"
        ? " when walked as a tree (a shared reference counts every time a walk such as JSON.stringify or util.inspect reaches it)"
        : " as host memory (estimated for the objects the host would hold)",
    );
  }
  // Pass 2: views (need their buffer) and dates.
  for (let i = 0; i < count; i++) {
    const n = list[i]!;
    if (n[0] === "t") {
      const Ctor = VIEW_KINDS[n[1] as ViewKind] as unknown as new (b: ArrayBuffer, o: number, l: number) => unknown;
      try {
        values[i] = new Ctor(bufferAt(n[2]), n[3] as number, n[4] as number);
      } catch {
        fail("view bounds");
      }
    } else if (n[0] === "d") {
      const time = resolve(n[1]);
      if (typeof time !== "number") fail("date");
      values[i] = new Date(time as number);
    }
  }
  // Pass 3: fill containers. Keys are defined, never assigned: "__proto__" stays data.
  for (let i = 0; i < count; i++) {
    const n = list[i]!;
    const target = values[i];
    switch (n[0]) {
      case "o":
        for (let j = 1; j < n.length; j += 2) {
          const value = resolve(n[j + 1]);
          // See implicit-calls.ts: `{ toJSON() {…} }` arrives as `{}`.
          if (typeof value === "function" && isImplicitCallName(n[j] as string)) continue;
          Object.defineProperty(target, n[j] as string, { value, writable: true, enumerable: true, configurable: true });
        }
        break;
      case "e":
        for (let j = 4; j < n.length; j += 2) {
          const key = n[j] as string;
          // GuestError's own fields are not the guest's to overwrite. Nor may a
          // guest error become a thenable or serialise itself: hosts routinely
          // write `.catch((e) => e)`, and a `then` there would be adopted —
          // calling guest code with the host's resolve/reject — as would a
          // `toJSON` when the host logs the error as JSON.
          if (Object.hasOwn(target as object, key) || key in GuestError.prototype || isImplicitCallName(key)) continue;
          Object.defineProperty(target, key, { value: resolve(n[j + 1]), writable: true, enumerable: true, configurable: true });
        }
        break;
      case "a": {
        const arr = target as unknown[];
        for (let j = 2; j < n.length; j++) {
          const s = n[j];
          if (Array.isArray(s) && s[0] === HOLE) continue;
          arr[j - 2] = resolve(s);
        }
        break;
      }
      case "m": {
        const map = target as Map<unknown, unknown>;
        for (let j = 1; j < n.length; j += 2) map.set(resolve(n[j]), resolve(n[j + 1]));
        break;
      }
      case "s": {
        const set = target as Set<unknown>;
        for (let j = 1; j < n.length; j++) set.add(resolve(n[j]));
        break;
      }
      default:
        break;
    }
  }
  const root = list[0]![0] === "v" ? resolve(list[0]![1]) : values[0];
  return root;
}

/**
 * A root object whose `then` is a function is refused rather than stripped:
 * the host API returns it through a promise, which would adopt it, so the
 * guest clearly meant a thenable — and quietly handing back `{}` instead
 * would hide the mistake. (Nested, the property is left out like every
 * implicit-call name; see implicit-calls.ts.)
 */
function refuseThenableRoot(list: readonly unknown[][]): void {
  const root = list[0]!;
  if (root[0] !== "o") return;
  for (let j = 1; j < root.length; j += 2) {
    const slot = root[j + 1];
    if (root[j] === "then" && Array.isArray(slot) && (slot[0] as number) >= 0 && list[slot[0] as number]![0] === "f") {
      throw new CloneError("cannot copy an object with a then() method out of the sandbox: a host await would call it (return it inside an array or object, or rename the method)");
    }
  }
}
