/**
 * Guest → host: rebuild a value from the engine's binary JSON (format.ts).
 *
 * The bytes were written by C code inside the guest's own wasm instance, so
 * they are data a hostile guest may have chosen (it can scribble over its
 * memory). Invariants:
 * - every length, count, offset, tag and back-reference is checked against
 *   the buffer before use; anything malformed throws {@link CloneError},
 *   never a host crash, a hang or a partly built value;
 * - iterative (an explicit stack), so nesting depth costs heap, not host stack;
 * - bounded by `resultBytes`: the caller bounds the byte length, the built
 *   value's host heap is bounded while it is built and its tree walk
 *   (shared references counted every time) before it is returned (cost.ts);
 * - keys are plain data: `__proto__` and every other name Object.prototype
 *   has is *defined* (never assigned), so no prototype is set and no host
 *   setter runs;
 * - what this path does not carry exactly (RegExp, boxed primitives,
 *   symbols, templates, bytecode, shared buffers, unknown atoms or view
 *   kinds) throws {@link BjsonRefused}: the caller uses the old codec.
 *
 * @packageDocumentation
 */
import { Buffer } from "node:buffer";
import { CloneError } from "../../host/errors.js";
import { CostMeter, HEAP, WALK } from "./cost.js";
import { AtomType, BJSON_VERSION, BjsonRefused, Tag, type BjsonBuild } from "./format.js";

/** Largest BigInt copied out: 2^18 bits (as the old codec; host-decode.ts). */
const MAX_BIGINT_HEX_DIGITS = 1 << 16;
const SYMBOL_KEY = Symbol("symbol atom");
const objectProto = Object.prototype as Record<string, unknown>;

function malformed(what: string): never {
  throw new CloneError(`the sandbox returned a malformed value (binary: ${what})`);
}

type ViewCtor = new (buffer: ArrayBuffer, offset: number, length: number) => unknown;
const VIEW_CTORS: Record<string, ViewCtor | undefined> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
} as unknown as Record<string, ViewCtor>;

interface RawSlicers {
  latin1Slice(start: number, end: number): string;
  ucs2Slice(start: number, end: number): string;
}

const enum Kind { Object, Array, Map, Set }

interface Frame {
  kind: Kind;
  target: unknown;
  node: number;
  /** Items still to read (Map: keys and values both count). */
  remaining: number;
  key: string | number | undefined;
  mapKey: unknown;
  /** Per-property heap of an object (fast or dictionary properties). */
  dictionary: boolean;
}

/** Decode `bytes`; see the file comment for what is thrown when. */
export function decodeBjson(bytes: Uint8Array, build: BjsonBuild, limit: number): unknown {
  const end = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Node's raw Latin-1 / UTF-16LE slicers: unlike TextDecoder they keep lone
  // surrogates and map 0x80–0x9F to themselves (TextDecoder's "latin1" is windows-1252).
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as RawSlicers;
  let pos = 0;
  const meter = new CostMeter(limit);

  const u8 = (): number => (pos < end ? bytes[pos++]! : malformed("truncated"));
  const leb = (): number => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = u8();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result <= 0xffffffff ? result : malformed("leb128 range");
    }
    return malformed("leb128 length");
  };
  const remaining = (): number => end - pos;
  const str = (): string => {
    const header = leb();
    const length = Math.floor(header / 2);
    const size = header & 1 ? length * 2 : length;
    if (size > remaining()) malformed("string length");
    const start = pos;
    pos += size;
    if (header & 1) return text.ucs2Slice(start, pos);
    // One flat string (concatenating characters would leave a rope of many pieces on the host heap).
    if (length === 1) return String.fromCharCode(bytes[start]!);
    return text.latin1Slice(start, pos);
  };

  if (u8() !== BJSON_VERSION) throw new BjsonRefused("format version");
  const atomCount = leb();
  // Each entry is at least two bytes: a bogus count cannot make a huge table.
  if (atomCount * 2 > remaining()) malformed("atom count");
  const atoms: Array<string | typeof SYMBOL_KEY> = new Array(atomCount);
  for (let i = 0; i < atomCount; i++) {
    const type = u8();
    if (type === AtomType.BUILTIN) {
      if (remaining() < 4) malformed("truncated");
      const id = view.getUint32(pos, true);
      pos += 4;
      const name = build.atomNames[id];
      if (name === undefined) throw new BjsonRefused("a built-in atom that is not a known string");
      atoms[i] = name;
    } else if (type === AtomType.STRING) {
      atoms[i] = str();
    } else if (type === AtomType.GLOBAL_SYMBOL || type === AtomType.SYMBOL) {
      str();
      atoms[i] = SYMBOL_KEY;
    } else {
      malformed("atom type");
    }
  }
  const key = (): string => {
    const v = leb();
    if (v & 1) return String(Math.floor(v / 2));
    const index = v / 2;
    if (index < 1 || index > atomCount) malformed("atom index");
    const name = atoms[index - 1]!;
    if (name === SYMBOL_KEY) throw new BjsonRefused("a symbol-keyed property");
    return name;
  };

  const objects: unknown[] = [];
  const stack: Frame[] = [];
  // Walk units of a primitive root (as the old codec's "v" node).
  let rootWalk = 0;
  let root: unknown;

  /** Account a slot (a child value) of `parent` (undefined: the root). */
  const slotCost = (parent: Frame | undefined, walk: number, heap: number): void => {
    if (parent === undefined) rootWalk += walk;
    else meter.addWalk(parent.node, walk);
    meter.addHeap(heap);
  };
  const newObject = (value: unknown, parent: Frame | undefined, walk: number, heap: number): number => {
    const node = objects.length;
    objects.push(value);
    meter.addWalk(node, walk);
    meter.addHeap(heap);
    if (parent !== undefined) meter.edge(parent.node, node);
    return node;
  };

  const readArrayBuffer = (parent: Frame | undefined): ArrayBuffer => {
    const length = leb();
    const maxLength = leb();
    if (maxLength < length) malformed("array buffer length");
    if (length > remaining()) malformed("array buffer length");
    // A copy: the host value must not share the bytes it was decoded from.
    const buffer = bytes.slice(pos, pos + length).buffer;
    pos += length;
    newObject(buffer, parent, WALK.node + length, HEAP.node + HEAP.buffer + length);
    return buffer;
  };

  /** Read one value; containers are created empty and their frame pushed. */
  const value = (parent: Frame | undefined): unknown => {
    const tag = u8();
    switch (tag) {
      case Tag.NULL:
      case Tag.FALSE:
      case Tag.TRUE:
        slotCost(parent, WALK.slot + 4, 0);
        return tag === Tag.NULL ? null : tag === Tag.TRUE;
      case Tag.UNDEFINED:
        slotCost(parent, WALK.constant, 0);
        return undefined;
      case Tag.INT32: {
        const z = leb();
        const n = z & 1 ? -(z - 1) / 2 - 1 : z / 2;
        slotCost(parent, WALK.number, HEAP.number);
        return n;
      }
      case Tag.FLOAT64: {
        if (remaining() < 8) malformed("truncated");
        const n = view.getFloat64(pos, true);
        pos += 8;
        const constant = !Number.isFinite(n) || Object.is(n, -0);
        slotCost(parent, constant ? WALK.constant : WALK.number, constant ? 0 : HEAP.number);
        return n;
      }
      case Tag.STRING: {
        const s = str();
        slotCost(parent, WALK.slot + s.length, HEAP.stringHeader + s.length * 2);
        return s;
      }
      case Tag.BIG_INT: {
        const length = leb();
        if (length > remaining()) malformed("bigint length");
        if (length > MAX_BIGINT_HEX_DIGITS / 2 + 1) bigintTooLarge();
        let hex = "";
        for (let i = pos + length - 1; i >= pos; i--) hex += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
        let n = length === 0 ? 0n : BigInt("0x" + hex);
        if (length > 0 && bytes[pos + length - 1]! & 0x80) n -= 1n << BigInt(8 * length);
        pos += length;
        const digits = (n < 0n ? -n : n).toString(16).length;
        if (digits > MAX_BIGINT_HEX_DIGITS) bigintTooLarge();
        const textLength = digits + (n < 0n ? 1 : 0);
        // The old codec makes a BigInt a node of its own, reached through its slot.
        slotCost(parent, WALK.node + textLength, HEAP.node + textLength);
        return n;
      }
      case Tag.OBJECT: {
        const count = leb();
        if (count * 2 > remaining()) malformed("property count");
        const target = {};
        const dictionary = count > HEAP.fastPropertiesMax;
        const node = newObject(target, parent, WALK.node, HEAP.node + HEAP.objectExtra);
        stack.push({ kind: Kind.Object, target, node, remaining: count, key: undefined, mapKey: undefined, dictionary });
        return target;
      }
      case Tag.ARRAY: {
        const length = leb();
        if (length > remaining()) malformed("array length");
        const target: unknown[] = [];
        const node = newObject(target, parent, WALK.node, HEAP.node + HEAP.arrayStore);
        stack.push({ kind: Kind.Array, target, node, remaining: length, key: undefined, mapKey: undefined, dictionary: false });
        return target;
      }
      case Tag.MAP:
      case Tag.SET: {
        const target = tag === Tag.MAP ? new Map() : new Set();
        const node = newObject(target, parent, WALK.node, HEAP.node);
        const count = leb();
        const items = tag === Tag.MAP ? count * 2 : count;
        if (items > remaining()) malformed("collection size");
        stack.push({ kind: tag === Tag.MAP ? Kind.Map : Kind.Set, target, node, remaining: items, key: undefined, mapKey: undefined, dictionary: false });
        return target;
      }
      case Tag.DATE: {
        const node = newObject(undefined, parent, WALK.node, HEAP.node + HEAP.date);
        const timeTag = u8();
        let time: number;
        if (timeTag === Tag.INT32) {
          const z = leb();
          time = z & 1 ? -(z - 1) / 2 - 1 : z / 2;
        } else if (timeTag === Tag.FLOAT64) {
          if (remaining() < 8) malformed("truncated");
          time = view.getFloat64(pos, true);
          pos += 8;
        } else {
          return malformed("date value");
        }
        const constant = !Number.isFinite(time) || Object.is(time, -0);
        meter.addWalk(node, constant ? WALK.constant : WALK.number);
        meter.addHeap(constant ? 0 : HEAP.number);
        const date = new Date(time);
        objects[node] = date;
        return date;
      }
      case Tag.ARRAY_BUFFER:
        return readArrayBuffer(parent);
      case Tag.TYPED_ARRAY: {
        const kind = build.viewKinds[u8()];
        const Ctor = kind === undefined ? undefined : VIEW_CTORS[kind];
        if (Ctor === undefined) throw new BjsonRefused("a typed array kind the host does not have");
        const length = leb();
        const offset = leb();
        // The view is numbered before its buffer (the reader reserves the slot first).
        const node = newObject(undefined, parent, WALK.node, HEAP.node + HEAP.view);
        let buffer: unknown;
        const bufferTag = u8();
        if (bufferTag === Tag.ARRAY_BUFFER) buffer = readArrayBuffer(undefined);
        else if (bufferTag === Tag.OBJECT_REFERENCE) buffer = reference();
        if (!(buffer instanceof ArrayBuffer)) return malformed("typed array buffer");
        meter.addWalk(node, buffer.byteLength);
        let result: unknown;
        try {
          result = new Ctor(buffer, offset, length);
        } catch {
          return malformed("typed array bounds");
        }
        objects[node] = result;
        return result;
      }
      case Tag.OBJECT_REFERENCE: {
        const index = leb();
        const target = referenceAt(index);
        if (parent !== undefined) meter.edge(parent.node, index);
        return target;
      }
      case Tag.TEMPLATE_OBJECT:
      case Tag.FUNCTION_BYTECODE:
      case Tag.MODULE:
      case Tag.SHARED_ARRAY_BUFFER:
      case Tag.REGEXP:
      case Tag.OBJECT_VALUE:
      case Tag.SYMBOL:
        throw new BjsonRefused(`tag ${tag}`);
      default:
        return malformed("tag");
    }
  };
  const referenceAt = (index: number): unknown => {
    const target = index < objects.length ? objects[index] : undefined;
    // A slot reserved for a typed array still being read holds undefined: not a valid target.
    if (target === undefined) malformed("object reference");
    return target;
  };
  const reference = (): unknown => referenceAt(leb());

  root = value(undefined);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.remaining === 0) {
      stack.pop();
      continue;
    }
    frame.remaining--;
    switch (frame.kind) {
      case Kind.Object: {
        const k = key();
        meter.addWalk(frame.node, k.length + 3);
        meter.addHeap((frame.dictionary ? HEAP.dictionaryProperty + k.length * 2 : HEAP.fastProperty + k.length) + HEAP.stringHeader);
        const v = value(frame);
        const target = frame.target as Record<string, unknown>;
        // Define, never assign, any name Object.prototype has (`__proto__` above all).
        if (k in objectProto) Object.defineProperty(target, k, { value: v, writable: true, enumerable: true, configurable: true });
        else target[k] = v;
        break;
      }
      case Kind.Array:
        meter.addHeap(HEAP.arraySlot);
        (frame.target as unknown[]).push(value(frame));
        break;
      case Kind.Map: {
        meter.addHeap(HEAP.mapSlot);
        const v = value(frame);
        if (frame.remaining % 2 === 1) frame.mapKey = v;
        else (frame.target as Map<unknown, unknown>).set(frame.mapKey, v);
        break;
      }
      case Kind.Set:
        meter.addHeap(HEAP.setSlot);
        (frame.target as Set<unknown>).add(value(frame));
        break;
    }
  }
  if (pos !== end) malformed("trailing bytes");
  meter.checkWalk(rootWalk);
  return root;
}

function bigintTooLarge(): never {
  throw new CloneError(`cannot copy a BigInt of more than ${MAX_BIGINT_HEX_DIGITS * 4} bits out of the sandbox (converting it to text would cost the host seconds); return it as a hex string (x.toString(16))`);
}
