/**
 * The `Buffer` of the browser build: the `buffer` package (feross, the usual
 * browser Buffer), plus the two raw slicers Node's Buffer has and the
 * package lacks, which the binary decoder (src/boundary/bjson/decode.ts)
 * calls: `latin1Slice` and `ucs2Slice`. `ucs2Slice` keeps lone surrogates as
 * they are (as Node's does; TextDecoder would replace them). The methods are
 * added to this bundle's private copy of the package's prototype, never to
 * anything of the page.
 *
 * @packageDocumentation
 */
import { Buffer } from "buffer";

const CHUNK = 4096;

interface RawSlicers {
  latin1Slice(start?: number, end?: number): string;
  ucs2Slice(start?: number, end?: number): string;
}

function bounds(buf: Uint8Array, start: number | undefined, end: number | undefined): [number, number] {
  const s = Math.max(0, Math.min(buf.length, start ?? 0));
  return [s, Math.max(s, Math.min(buf.length, end ?? buf.length))];
}

const proto = Buffer.prototype as unknown as RawSlicers & Uint8Array;
if (typeof proto.latin1Slice !== "function") {
  proto.latin1Slice = function latin1Slice(this: Uint8Array, start?: number, end?: number): string {
    const [s, e] = bounds(this, start, end);
    let out = "";
    for (let i = s; i < e; i += CHUNK) out += String.fromCharCode.apply(null, Array.from(this.subarray(i, Math.min(e, i + CHUNK))));
    return out;
  };
}
if (typeof proto.ucs2Slice !== "function") {
  proto.ucs2Slice = function ucs2Slice(this: Uint8Array, start?: number, end?: number): string {
    const [s, e0] = bounds(this, start, end);
    const e = s + ((e0 - s) & ~1);
    let out = "";
    const units: number[] = [];
    for (let i = s; i < e; i += 2) {
      units.push(this[i]! | (this[i + 1]! << 8));
      if (units.length === CHUNK) {
        out += String.fromCharCode.apply(null, units);
        units.length = 0;
      }
    }
    return out + String.fromCharCode.apply(null, units);
  };
}

export { Buffer };
