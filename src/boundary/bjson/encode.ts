/**
 * Host → guest: write a host value as the engine's binary JSON (format.ts),
 * for `JS_ReadObject` to build inside the guest in C.
 *
 * Invariant: only values the reader rebuilds *exactly as the old codec
 * would* are written (host-encode.ts + the kernel's decode); anything else —
 * a function (it must become a host-function wrapper), a symbol, a hole, an
 * object reached twice (the pinned build's reader takes no references, so
 * cycles and shared references cannot be expressed), a RegExp, DataView,
 * Error, Promise, Weak*, boxed primitive — throws {@link BjsonRefused} and
 * the caller uses the old codec, which also produces today's errors. The
 * reader defines every property (never assigns), so `__proto__` stays data
 * and no guest setter runs; it runs no guest code at all.
 *
 * Iterative (an explicit stack): a deeply nested host value cannot overflow
 * the host stack (the guest-side reader refuses it past its own stack limit,
 * and then the old codec, which is flat, takes over).
 *
 * @packageDocumentation
 */
import { BjsonRefused, MAX_ATOMS, MAX_INT_ATOM, Tag, type BjsonBuild } from "./format.js";
import { BJSON_VERSION } from "./format.js";

/** Deepest nesting written (the guest gate uses the same bound: guest/kernel.js BJSON_MAX_DEPTH). */
export const MAX_DEPTH = 200;
const CANONICAL_INT = /^(?:0|[1-9][0-9]{0,9})$/;
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, Symbol.toStringTag)!.get!;

/** A growable byte sink. */
class Sink {
  bytes = new Uint8Array(1024);
  length = 0;
  private view = new DataView(this.bytes.buffer);

  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.bytes[this.length++] = v;
  }
  leb(v: number): void {
    this.reserve(5);
    while (v >= 0x80) {
      this.bytes[this.length++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.bytes[this.length++] = v;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  raw(src: Uint8Array): void {
    this.reserve(src.length);
    this.bytes.set(src, this.length);
    this.length += src.length;
  }
  string(s: string): void {
    const n = s.length;
    let wide = false;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0xff) {
        wide = true;
        break;
      }
    }
    this.leb(n * 2 + (wide ? 1 : 0));
    this.reserve(wide ? n * 2 : n);
    const b = this.bytes;
    let o = this.length;
    if (wide) {
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        b[o++] = c & 0xff;
        b[o++] = c >> 8;
      }
    } else {
      for (let i = 0; i < n; i++) b[o++] = s.charCodeAt(i);
    }
    this.length = o;
  }
}

/** Work item: a container whose children are still to be written. */
interface Pending {
  readonly keys: readonly string[] | undefined;
  readonly values: readonly unknown[];
  next: number;
}

/**
 * Encode `root`, or throw {@link BjsonRefused}. `build` gives the typed-array
 * tags of the running build.
 */
export function encodeBjson(root: unknown, build: BjsonBuild): Uint8Array {
  const body = new Sink();
  const atoms = new Map<string, number>();
  const atomList: string[] = [];
  const seen = new Set<object>();
  const stack: Pending[] = [];
  const viewTags = new Map<string, number>();
  build.viewKinds.forEach((kind, tag) => {
    if (kind !== undefined) viewTags.set(kind, tag);
  });

  // Each distinct key's reference, worked out once: an integer key as itself, any other as its atom-table entry.
  const key = (k: string): void => {
    let ref = atoms.get(k);
    if (ref === undefined) {
      if (CANONICAL_INT.test(k) && Number(k) <= MAX_INT_ATOM) {
        ref = Number(k) * 2 + 1;
      } else {
        if (atomList.length >= MAX_ATOMS) throw new BjsonRefused("too many distinct keys");
        atomList.push(k);
        ref = atomList.length * 2; // entry index + 1 (index 0 is no atom), shifted
      }
      atoms.set(k, ref);
    }
    body.leb(ref);
  };
  const arrayBuffer = (bytes: Uint8Array): void => {
    body.u8(Tag.ARRAY_BUFFER);
    body.leb(bytes.length);
    body.leb(0xffffffff); // not resizable
    body.raw(bytes);
  };
  const object = (v: object): void => {
    if (seen.has(v)) throw new BjsonRefused("a shared or circular reference");
    seen.add(v);
    if (Array.isArray(v)) {
      const length = v.length;
      const values = new Array<unknown>(length);
      for (let i = 0; i < length; i++) values[i] = dataValue(v, i);
      body.u8(Tag.ARRAY);
      body.leb(length);
      stack.push({ keys: undefined, values, next: 0 });
      return;
    }
    if (ArrayBuffer.isView(v)) {
      if (v instanceof DataView) throw new BjsonRefused("a DataView");
      const tag = viewTags.get(typedArrayTag.call(v) as string);
      if (tag === undefined) throw new BjsonRefused("a typed array kind the guest does not have");
      const view = v as unknown as { buffer: ArrayBufferLike; byteOffset: number; byteLength: number; length: number };
      if (seen.has(view.buffer)) throw new BjsonRefused("a buffer shared by two values");
      seen.add(view.buffer);
      body.u8(Tag.TYPED_ARRAY);
      body.u8(tag);
      body.leb(view.length);
      body.leb(view.byteOffset);
      arrayBuffer(new Uint8Array(view.buffer));
      return;
    }
    if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && v instanceof SharedArrayBuffer)) {
      // A SharedArrayBuffer is copied, never shared (as the old codec does).
      arrayBuffer(new Uint8Array(v));
      return;
    }
    if (v instanceof Date) {
      body.u8(Tag.DATE);
      body.u8(Tag.FLOAT64);
      body.f64(v.getTime());
      return;
    }
    if (v instanceof Map) {
      body.u8(Tag.MAP);
      body.leb(v.size);
      const items: unknown[] = [];
      for (const [k, x] of v) items.push(k, x);
      stack.push({ keys: undefined, values: items, next: 0 });
      return;
    }
    if (v instanceof Set) {
      body.u8(Tag.SET);
      body.leb(v.size);
      stack.push({ keys: undefined, values: [...v], next: 0 });
      return;
    }
    if (v instanceof RegExp || v instanceof Error || v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet ||
      (typeof WeakRef === "function" && v instanceof WeakRef) || v instanceof Number || v instanceof String || v instanceof Boolean ||
      (typeof BigInt === "function" && v instanceof (BigInt as unknown as new () => object))) {
      throw new BjsonRefused("an object the old codec copies");
    }
    const keys = Object.keys(v);
    const values = keys.map((k) => dataValue(v, k));
    body.u8(Tag.OBJECT);
    body.leb(keys.length);
    stack.push({ keys, values, next: 0 });
  };
  const value = (v: unknown): void => {
    switch (typeof v) {
      case "undefined":
        body.u8(Tag.UNDEFINED);
        return;
      case "boolean":
        body.u8(v ? Tag.TRUE : Tag.FALSE);
        return;
      case "number":
        if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff && !Object.is(v, -0)) {
          body.u8(Tag.INT32);
          body.leb(v >= 0 ? v * 2 : -v * 2 - 1);
        } else {
          body.u8(Tag.FLOAT64);
          body.f64(v);
        }
        return;
      case "string":
        body.u8(Tag.STRING);
        body.string(v);
        return;
      case "bigint":
        bigint(body, v);
        return;
      case "object":
        if (v === null) body.u8(Tag.NULL);
        else object(v);
        return;
      default:
        throw new BjsonRefused(`a ${typeof v}`);
    }
  };

  value(root);
  while (stack.length > 0) {
    // The guest-side reader recurses in C (and on the host's native stack): deep values take the flat codec.
    if (stack.length > MAX_DEPTH) throw new BjsonRefused("nesting deeper than the binary reader takes");
    const top = stack[stack.length - 1]!;
    if (top.next === top.values.length) {
      stack.pop();
      continue;
    }
    const i = top.next++;
    if (top.keys !== undefined) key(top.keys[i]!);
    value(top.values[i]);
  }

  const head = new Sink();
  head.u8(BJSON_VERSION);
  head.leb(atomList.length);
  for (const name of atomList) {
    head.u8(1); // a string atom (built-in names too: the reader interns them to the same atom)
    head.string(name);
  }
  const out = new Uint8Array(head.length + body.length);
  out.set(head.bytes.subarray(0, head.length));
  out.set(body.bytes.subarray(0, body.length), head.length);
  return out;
}

/**
 * An own data property's value, read without running a getter: a value with
 * an accessor (or a hole) is refused *before* anything was read, so the old
 * codec's own walk is the only one that runs host getters (once, as today).
 */
function dataValue(v: object, key: string | number): unknown {
  const d = Object.getOwnPropertyDescriptor(v, key);
  if (d === undefined) throw new BjsonRefused("a hole");
  if (!("value" in d)) throw new BjsonRefused("an accessor property");
  return d.value;
}

/** Little-endian two's complement, as short as the sign allows (JS_WriteBigInt). */
function bigint(body: Sink, v: bigint): void {
  body.u8(Tag.BIG_INT);
  if (v === 0n) {
    body.leb(0);
    return;
  }
  const out: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(x & 0xffn);
    out.push(byte);
    x >>= 8n;
    // Done once the rest is pure sign extension of this byte's top bit.
    if ((x === 0n && (byte & 0x80) === 0) || (x === -1n && (byte & 0x80) !== 0)) break;
  }
  body.leb(out.length);
  body.raw(Uint8Array.from(out));
}
