// Guest bundle: TextEncoder and TextDecoder (UTF-8, the WHATWG Encoding
// Standard's algorithms, including `fatal`, `ignoreBOM`, `stream` and
// `encodeInto`).
//
// Written here rather than taken from npm: the candidates were measured or
// read first. text-encoding-utf-8 follows the spec but reads its input with
// Array.prototype.shift per byte (quadratic: hopeless for a megabyte);
// fast-text-encoding drops lone surrogates instead of writing U+FFFD, never
// replaces malformed input with U+FFFD on decode and switches to a global
// `Buffer` when one exists. Other encodings are refused with a RangeError that
// says only UTF-8 is available (as in Node built without ICU).
//
// Speed: the interpreter needs about a second per megabyte for these loops, so
// inputs over FAST_MIN go through the host in one copy each way (Node's own
// UTF-8 code). The guest makes the input well-formed first (toWellFormed: lone
// surrogates → U+FFFD, exactly the encoder's rule) and keeps strings holding
// NUL, which the engine cannot hand over whole, on the JS path.

const UTF8_LABELS = ["unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"];
const fromCharCode = String.fromCharCode;
const CHUNK = 8192;
const FAST_MIN = 256;
let native = null;
const toWellFormed = String.prototype.toWellFormed;
const indexOf = String.prototype.indexOf;

function isBufferSource(input) {
  return input instanceof ArrayBuffer || ArrayBuffer.isView(input) || (typeof SharedArrayBuffer === "function" && input instanceof SharedArrayBuffer);
}

function bytesOf(input) {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && input instanceof SharedArrayBuffer)) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError("The \"input\" argument must be an instance of ArrayBuffer or ArrayBufferView");
}

/** UTF-8 bytes of a string; lone surrogates become U+FFFD (EF BF BD), as the standard says. */
function encodeString(s) {
  const n = s.length;
  const out = new Uint8Array(n * 3);
  let j = 0;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[j++] = c;
      continue;
    }
    if (c < 0x800) {
      out[j++] = 0xc0 | (c >> 6);
      out[j++] = 0x80 | (c & 63);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        out[j++] = 0xf0 | (c >> 18);
        out[j++] = 0x80 | ((c >> 12) & 63);
        out[j++] = 0x80 | ((c >> 6) & 63);
        out[j++] = 0x80 | (c & 63);
        continue;
      }
      c = 0xfffd;
    }
    out[j++] = 0xe0 | (c >> 12);
    out[j++] = 0x80 | ((c >> 6) & 63);
    out[j++] = 0x80 | (c & 63);
  }
  return out.slice(0, j);
}

export class TextEncoder {
  get encoding() {
    return "utf-8";
  }
  encode(input = "") {
    const s = `${input}`;
    if (native !== null && s.length >= FAST_MIN) {
      const w = toWellFormed.call(s);
      if (indexOf.call(w, "\0") < 0) return new Uint8Array(native("utf8enc", w));
    }
    return encodeString(s);
  }
  /** Writes as many whole characters of `source` as fit into `destination`. */
  encodeInto(source, destination) {
    if (!(destination instanceof Uint8Array)) throw new TypeError("The \"dest\" argument must be an instance of Uint8Array");
    const s = `${source}`;
    let read = 0, written = 0;
    const room = destination.length;
    while (read < s.length) {
      const c = s.charCodeAt(read);
      const pair = c >= 0xd800 && c <= 0xdbff && read + 1 < s.length && (s.charCodeAt(read + 1) & 0xfc00) === 0xdc00;
      const units = pair ? 2 : 1;
      const bytes = encodeString(s.slice(read, read + units));
      if (written + bytes.length > room) break;
      destination.set(bytes, written);
      written += bytes.length;
      read += units;
    }
    return { read, written };
  }
  get [Symbol.toStringTag]() {
    return "TextEncoder";
  }
}

/** The standard's UTF-8 decoder state, kept between `stream: true` calls. */
export class TextDecoder {
  #fatal;
  #ignoreBOM;
  #needed = 0;
  #seen = 0;
  #cp = 0;
  #lower = 0x80;
  #upper = 0xbf;
  #bomDone = false;

  constructor(label = "utf-8", options = {}) {
    const name = `${label}`.trim().toLowerCase();
    if (!UTF8_LABELS.includes(name)) {
      const shown = name.length > 40 ? `${name.slice(0, 40)}…` : name;
      throw new RangeError(`The "${shown}" encoding is not supported: this sandbox's TextDecoder decodes UTF-8 only`);
    }
    const opts = options === undefined || options === null ? {} : options;
    this.#fatal = Boolean(opts.fatal);
    this.#ignoreBOM = Boolean(opts.ignoreBOM);
  }
  get encoding() {
    return "utf-8";
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }

  decode(input, options) {
    if (input !== undefined && !isBufferSource(input)) throw new TypeError("The \"input\" argument must be an instance of ArrayBuffer or ArrayBufferView");
    const stream = Boolean(options && options.stream);
    const bytes = bytesOf(input);
    if (native !== null && !stream && this.#needed === 0 && !this.#bomDone && bytes.length >= FAST_MIN) {
      // A fresh copy of just these bytes (the view may be part of a larger buffer).
      return native("utf8dec", bytes.slice().buffer, (this.#fatal ? 1 : 0) | (this.#ignoreBOM ? 2 : 0));
    }
    const parts = [];
    let units = [];
    const emit = (cp) => {
      if (cp > 0xffff) {
        cp -= 0x10000;
        units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else units.push(cp);
      if (units.length >= CHUNK) {
        parts.push(fromCharCode.apply(null, units));
        units = [];
      }
    };
    const fail = () => {
      this.#reset();
      if (this.#fatal) throw new TypeError("The encoded data was not valid for encoding utf-8");
      emit(0xfffd);
    };
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.#needed === 0) {
        if (b <= 0x7f) emit(b);
        else if (b >= 0xc2 && b <= 0xdf) { this.#needed = 1; this.#cp = b & 0x1f; }
        else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) this.#lower = 0xa0;
          if (b === 0xed) this.#upper = 0x9f;
          this.#needed = 2; this.#cp = b & 0xf;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) this.#lower = 0x90;
          if (b === 0xf4) this.#upper = 0x8f;
          this.#needed = 3; this.#cp = b & 0x7;
        } else fail();
        continue;
      }
      if (b < this.#lower || b > this.#upper) {
        // The byte is not part of the sequence: report it and read it again.
        fail();
        i--;
        continue;
      }
      this.#lower = 0x80;
      this.#upper = 0xbf;
      this.#cp = (this.#cp << 6) | (b & 0x3f);
      if (++this.#seen === this.#needed) {
        const cp = this.#cp;
        this.#reset();
        emit(cp);
      }
    }
    if (!stream && this.#needed !== 0) fail();
    parts.push(fromCharCode.apply(null, units));
    let text = parts.join("");
    if (!this.#bomDone && text.length > 0) {
      this.#bomDone = true;
      if (!this.#ignoreBOM && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (!stream) {
      this.#reset();
      this.#bomDone = false;
    }
    return text;
  }
  #reset() {
    this.#needed = 0;
    this.#seen = 0;
    this.#cp = 0;
    this.#lower = 0x80;
    this.#upper = 0xbf;
  }
  get [Symbol.toStringTag]() {
    return "TextDecoder";
  }
}

/** The bundle's entry: the classes, with the host's bulk path when `hostNative` is given. */
export function makeEncoding(hostNative) {
  native = hostNative;
  return { TextEncoder, TextDecoder };
}
