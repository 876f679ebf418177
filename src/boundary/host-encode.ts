/**
 * Host → guest: flatten a host value into the wire format (see wire.ts).
 *
 * Host values are the host's own, so this walk may run host getters; it never
 * hands the guest a host object. Functions become ids in a registry the caller
 * owns; the guest only ever gets a guest-side wrapper that calls back by id.
 * Iterative, so a deeply nested host value cannot overflow the host stack.
 *
 * @packageDocumentation
 */
import { CloneError } from "../host/errors.js";
import { HOLE, NAN, NEG_INF, NEG_ZERO, POS_INF, UNDEF, type Encoded } from "./wire.js";

/** Gives a stable id to each host function handed to the guest. */
export type HostFunctionRegistrar = (fn: (...args: never[]) => unknown) => number;

type Slot = string | number | boolean | null | [number];
type Node = unknown[];

const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedArrayTag = Object.getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag)!.get!;

/** Encode `root`; throws {@link CloneError} for values that cannot cross. */
export function encodeHostValue(root: unknown, registerFunction: HostFunctionRegistrar): Encoded {
  const nodes: Node[] = [];
  const seen = new Map<object, number>();
  const buffers: Uint8Array[] = [];
  const bufferIds = new Map<ArrayBufferLike, number>();
  const work: Array<[object, number]> = [];

  const node = (content: Node): [number] => {
    nodes.push(content);
    return [nodes.length - 1];
  };
  const bufferIndex = (buffer: ArrayBufferLike): number => {
    let id = bufferIds.get(buffer);
    if (id === undefined) {
      id = buffers.length;
      buffers.push(new Uint8Array(buffer.slice(0)));
      bufferIds.set(buffer, id);
    }
    return id;
  };

  const slot = (v: unknown): Slot => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return v;
      case "number":
        if (Number.isNaN(v)) return [NAN];
        if (v === Infinity) return [POS_INF];
        if (v === -Infinity) return [NEG_INF];
        if (Object.is(v, -0)) return [NEG_ZERO];
        return v;
      case "undefined":
        return [UNDEF];
      case "bigint":
        return node(["n", v < 0n ? "-" + (-v).toString(16) : v.toString(16)]);
      case "symbol":
        throw new CloneError(`cannot copy a symbol (${String(v)}) into the sandbox`);
      case "function":
        return node(["f", registerFunction(v as (...args: never[]) => unknown), safeName(v)]);
      case "object": {
        if (v === null) return null;
        const known = seen.get(v);
        if (known !== undefined) return [known];
        nodes.push(0 as never);
        const index = nodes.length - 1;
        seen.set(v, index);
        work.push([v, index]);
        return [index];
      }
      default:
        throw new CloneError(`cannot copy a value of type ${typeof v} into the sandbox`);
    }
  };

  const fill = (v: object): Node => {
    if (Array.isArray(v)) {
      const out: Node = ["a", v.length];
      for (let i = 0; i < v.length; i++) out.push(i in v ? slot(v[i]) : [HOLE]);
      return out;
    }
    if (ArrayBuffer.isView(v)) {
      if (v instanceof DataView) return ["t", "DataView", bufferIndex(v.buffer), v.byteOffset, v.byteLength];
      const kind = typedArrayTag.call(v) as string;
      const view = v as unknown as { buffer: ArrayBufferLike; byteOffset: number; length: number };
      return ["t", kind, bufferIndex(view.buffer), view.byteOffset, view.length];
    }
    if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && v instanceof SharedArrayBuffer)) {
      // A SharedArrayBuffer is copied, never shared: the guest must not see later host writes.
      return ["b", bufferIndex(v)];
    }
    if (v instanceof Date) return ["d", slot(v.getTime())];
    if (v instanceof RegExp) return ["r", v.source, v.flags];
    if (v instanceof Map) {
      const out: Node = ["m"];
      for (const [key, value] of v) out.push(slot(key), slot(value));
      return out;
    }
    if (v instanceof Set) {
      const out: Node = ["s"];
      for (const value of v) out.push(slot(value));
      return out;
    }
    if (v instanceof Error) {
      // Only name and message cross: a host stack names host files.
      const out: Node = ["e", String(v.name), String(v.message), ""];
      for (const key of Object.keys(v)) {
        if (key === "name" || key === "message" || key === "stack") continue;
        out.push(key, slot((v as unknown as Record<string, unknown>)[key]));
      }
      return out;
    }
    if (v instanceof Promise) throw new CloneError("cannot copy a Promise into the sandbox; await it first");
    if (v instanceof WeakMap || v instanceof WeakSet || (typeof WeakRef === "function" && v instanceof WeakRef)) {
      throw new CloneError(`cannot copy a ${v.constructor.name} into the sandbox`);
    }
    const out: Node = ["o"];
    for (const key of Object.keys(v)) out.push(key, slot((v as Record<string, unknown>)[key]));
    return out;
  };

  const rootSlot = slot(root);
  if (!Array.isArray(rootSlot) || rootSlot[0] < 0) return { json: JSON.stringify([["v", rootSlot]]), buffers };
  for (let item = work.pop(); item !== undefined; item = work.pop()) nodes[item[1]] = fill(item[0]);
  return { json: JSON.stringify(nodes), buffers };
}

function safeName(fn: unknown): string {
  const name = (fn as { name?: unknown }).name;
  return typeof name === "string" && /^[\w$]{1,64}$/.test(name) ? name : "hostFunction";
}
