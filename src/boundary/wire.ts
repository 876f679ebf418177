/**
 * The wire format shared by the host codec (host-encode.ts, host-decode.ts)
 * and the guest kernel (guest/kernel.js).
 *
 * A value travels as JSON text of a flat array of nodes — node 0 is the root —
 * plus a list of ArrayBuffers copied out of band. Children are "slots": a JSON
 * string, finite number, boolean or null stands for itself; `[i]` with `i >= 0`
 * is node `i`; `[k]` with a negative `k` is one of the constants below. Flat,
 * so neither side ever recurses to a depth the other side chose; cycles and
 * shared references are just repeated indices.
 *
 * Nodes (first element is the tag):
 * - `["v", slot]` a primitive root (only as node 0)
 * - `["o", key, slot, key, slot…]` object (own enumerable string keys)
 * - `["a", length, slot…]` array; exactly `length` slots, holes as `[HOLE]`
 * - `["n", hex]` BigInt as signed hexadecimal (`"-ff"`)
 * - `["d", slot]` Date (its time value)
 * - `["r", source, flags]` RegExp
 * - `["m", keySlot, valueSlot…]` Map; `["s", slot…]` Set
 * - `["b", bufferIndex]` ArrayBuffer
 * - `["t", kind, bufferIndex, byteOffset, length]` typed array or DataView
 * - `["e", name, message, stack, key, slot…]` Error
 * - `["f", id, name]` a function: a guest function id (guest → host) or a host
 *   function id (host → guest)
 *
 * @packageDocumentation
 */

export const UNDEF = -1;
export const NAN = -2;
export const POS_INF = -3;
export const NEG_INF = -4;
export const NEG_ZERO = -5;
export const HOLE = -6;

/** Typed array and DataView kinds that may cross, by their constructor name. */
export const VIEW_KINDS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
} as const;

export type ViewKind = keyof typeof VIEW_KINDS;

/** An encoded value: JSON text plus the ArrayBuffers it refers to by index. */
export interface Encoded {
  readonly json: string;
  readonly buffers: readonly Uint8Array[];
}
