// Guest bundle: Blob (the File API's immutable byte container): parts from
// strings (UTF-8), ArrayBuffers, views and other Blobs; size, type, slice,
// arrayBuffer(), text(), bytes(). No stream() (the guest has no ReadableStream).
//
// Written here: the npm candidates are built for another host — fetch-blob on
// Node streams and fs, blob-polyfill on browser internals — and the standard's
// algorithm over one Uint8Array is short. Text goes through the guest's own
// TextEncoder/TextDecoder (bundled in), with the host's bulk path.
import { makeEncoding } from "./encoding.js";

export function makeBlob(native) {
  const { TextEncoder, TextDecoder } = makeEncoding(native);
  const encoder = new TextEncoder();
  const bytesOf = new WeakMap();
  const typeOf = new WeakMap();

  const copyOf = (part) => {
    if (part instanceof ArrayBuffer) return new Uint8Array(part.slice(0));
    if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength));
    const blobBytes = bytesOf.get(part);
    if (blobBytes !== undefined) return blobBytes;
    return encoder.encode(`${part}`);
  };
  const normalType = (type) => {
    const text = type === undefined ? "" : `${type}`;
    return /^[\x20-\x7e]*$/.test(text) ? text.toLowerCase() : "";
  };
  const make = (bytes, type) => {
    const blob = Object.create(Blob.prototype);
    bytesOf.set(blob, bytes);
    typeOf.set(blob, type);
    return blob;
  };
  const own = (blob) => {
    const bytes = bytesOf.get(blob);
    if (bytes === undefined) throw new TypeError("Illegal invocation: not a Blob");
    return bytes;
  };

  class Blob {
    constructor(parts = [], options = undefined) {
      if (parts === null || typeof parts !== "object" || typeof parts[Symbol.iterator] !== "function") {
        throw new TypeError("Failed to construct 'Blob': The provided value cannot be converted to a sequence.");
      }
      const chunks = [];
      let size = 0;
      for (const part of parts) {
        const bytes = copyOf(part);
        chunks.push(bytes);
        size += bytes.length;
      }
      const all = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk, at);
        at += chunk.length;
      }
      bytesOf.set(this, all);
      typeOf.set(this, normalType(options === undefined || options === null ? undefined : options.type));
    }
    get size() {
      return own(this).length;
    }
    get type() {
      own(this);
      return typeOf.get(this);
    }
    slice(start, end, contentType) {
      const bytes = own(this);
      const relative = (value, fallback) => {
        if (value === undefined) return fallback;
        const n = Math.trunc(Number(value)) || 0;
        return n < 0 ? Math.max(bytes.length + n, 0) : Math.min(n, bytes.length);
      };
      const from = relative(start, 0), to = relative(end, bytes.length);
      return make(bytes.slice(from, Math.max(from, to)), normalType(contentType));
    }
    async arrayBuffer() {
      return own(this).slice().buffer;
    }
    async bytes() {
      return own(this).slice();
    }
    async text() {
      return new TextDecoder().decode(own(this));
    }
    get [Symbol.toStringTag]() {
      return "Blob";
    }
  }
  return Blob;
}
