// Guest bundle: atob and btoa, the HTML standard's forgiving-base64 decode and
// Latin-1 encode, throwing InvalidCharacterError DOMExceptions (QuickJS-ng has
// DOMException natively).
//
// Inputs over FAST_MIN characters, once checked here, are converted by the
// host (Node's Buffer) in one copy each way: the loops below need about a
// second per megabyte in the interpreter.
//
// Written here rather than taken from core-js: core-js's atob brings its own
// DOMException and error-stack machinery, and parsing that bundle cost ~7 ms in
// every realm that first calls atob; the algorithm itself is thirty lines.
// (base64-js implements plain RFC 4648 without the forgiving rules or the
// Latin-1 check, so it would still need this wrapper.)

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
const CHUNK = 8192;
const fromCharCode = String.fromCharCode;
const FAST_MIN = 1024;
let native = null;

const invalid = (message) => new DOMException(message, "InvalidCharacterError");

function textOf(args, name) {
  if (args.length === 0) throw new TypeError(`${name}: 1 argument required, but only 0 present.`);
  return `${args[0]}`;
}

function joinCodes(codes, length) {
  let out = "";
  for (let i = 0; i < length; i += CHUNK) out += fromCharCode.apply(null, codes.subarray(i, Math.min(i + CHUNK, length)));
  return out;
}

export function atob(...args) {
  let s = textOf(args, "atob").replace(/[\t\n\f\r ]+/g, "");
  if (s.length % 4 === 0) s = s.replace(/==?$/, "");
  if (s.length % 4 === 1) throw invalid("The string to be decoded is not correctly encoded.");
  if (native !== null && s.length >= FAST_MIN) {
    if (/[^A-Za-z0-9+/]/.test(s)) throw invalid("The string to be decoded is not correctly encoded.");
    return native("atob", s);
  }
  const out = new Uint8Array((s.length * 3) >> 2);
  let bits = 0, count = 0, j = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? VALUE[c] : -1;
    if (v < 0) throw invalid("The string to be decoded is not correctly encoded.");
    bits = (bits << 6) | v;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out[j++] = (bits >> count) & 0xff;
    }
  }
  return joinCodes(out, j);
}

export function btoa(...args) {
  const s = textOf(args, "btoa");
  if (native !== null && s.length >= FAST_MIN && !/[^\x01-\xff]/.test(s)) return native("btoa", s);
  let out = "";
  let chunk = [];
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) throw invalid("Invalid character: the string to be encoded contains characters outside of the Latin1 range.");
    const n = i + 2 < s.length ? 3 : s.length - i;
    const triple = (a << 16) | ((n > 1 ? b : 0) << 8) | (n > 2 ? c : 0);
    chunk.push(
      ALPHABET.charCodeAt(triple >> 18),
      ALPHABET.charCodeAt((triple >> 12) & 63),
      n > 1 ? ALPHABET.charCodeAt((triple >> 6) & 63) : 61,
      n > 2 ? ALPHABET.charCodeAt(triple & 63) : 61,
    );
    if (chunk.length >= CHUNK) {
      out += fromCharCode.apply(null, chunk);
      chunk = [];
    }
  }
  return out + fromCharCode.apply(null, chunk);
}

/** The bundle's entry: the functions, with the host's bulk path when `hostNative` is given. */
export function makeBase64(hostNative) {
  native = hostNative;
  return { atob, btoa };
}
