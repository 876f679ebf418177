// Guest bundle: the `crypto` global (Web Crypto's getRandomValues, randomUUID
// and subtle.digest). Random bytes and digests come from the host — Node's
// CSPRNG and node:crypto — through the one native the guest setup holds; the
// guest side checks types and sizes first (the host checks them again).
//
// `k` holds intrinsics captured when the realm started, before any guest code
// ran, so a guest that replaced Uint8Array or ArrayBuffer.prototype.slice
// cannot make this code hand the native anything but a genuine ArrayBuffer.

/** The Web Crypto bound on one getRandomValues call (bytes). */
const RANDOM_MAX = 65536;
const INTEGER_ARRAYS = ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array"];
const DIGESTS = ["SHA-1", "SHA-256", "SHA-384", "SHA-512"];
const SUBTLE_ABSENT = ["encrypt", "decrypt", "sign", "verify", "generateKey", "deriveKey", "deriveBits", "importKey", "exportKey", "wrapKey", "unwrapKey"];

export function makeCrypto(native, k, config) {
  const { apply, Uint8Array: U8, DOMException: DOMExc, Promise: PromiseCtor } = k;
  const call = (fn) => (self, ...args) => apply(fn, self, args);
  const typedArrayTag = call(k.taTag), typedArrayBuffer = call(k.taBuffer), typedArrayOffset = call(k.taOffset), typedArrayByteLength = call(k.taLength);
  const abByteLength = call(k.abLength), abSlice = call(k.abSlice);
  const dataViewBuffer = call(k.dvBuffer), dataViewOffset = call(k.dvOffset), dataViewLength = call(k.dvLength);
  // Brand checks: true only for genuine objects of the kind, whatever their prototype says.
  const brand = (check) => (v) => { try { check(v); return true; } catch { return false; } };
  const isArrayBuffer = brand(abByteLength), isDataView = brand(dataViewLength);
  const hex = [];
  for (let i = 0; i < 256; i++) hex.push((i + 0x100).toString(16).slice(1));

  function randomBytes(n) {
    return new U8(native("random", n));
  }

  function getRandomValues(array) {
    const tag = typedArrayTag(array);
    if (tag === undefined) throw new TypeError("crypto.getRandomValues: the argument must be an integer TypedArray (e.g. a Uint8Array)");
    if (!INTEGER_ARRAYS.includes(tag)) throw new DOMExc(`crypto.getRandomValues: a ${tag} is not an integer TypedArray`, "TypeMismatchError");
    const length = typedArrayByteLength(array);
    if (length > RANDOM_MAX) {
      throw new DOMExc(`crypto.getRandomValues: the ArrayBufferView's byte length (${length}) exceeds the number of bytes of entropy available via this API (${RANDOM_MAX})`, "QuotaExceededError");
    }
    if (length > 0) new U8(typedArrayBuffer(array), typedArrayOffset(array), length).set(randomBytes(length));
    return array;
  }

  function randomUUID() {
    const b = randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    return `${hex[b[0]]}${hex[b[1]]}${hex[b[2]]}${hex[b[3]]}-${hex[b[4]]}${hex[b[5]]}-${hex[b[6]]}${hex[b[7]]}-${hex[b[8]]}${hex[b[9]]}-${hex[b[10]]}${hex[b[11]]}${hex[b[12]]}${hex[b[13]]}${hex[b[14]]}${hex[b[15]]}`;
  }

  /** A fresh ArrayBuffer holding a copy of a BufferSource's bytes. */
  function copyBytes(data, what) {
    if (isArrayBuffer(data)) return check(abByteLength(data), what) && abSlice(data, 0);
    if (typedArrayTag(data) !== undefined) {
      const offset = typedArrayOffset(data), length = typedArrayByteLength(data);
      return check(length, what) && abSlice(typedArrayBuffer(data), offset, offset + length);
    }
    if (isDataView(data)) {
      const offset = dataViewOffset(data), length = dataViewLength(data);
      return check(length, what) && abSlice(dataViewBuffer(data), offset, offset + length);
    }
    throw new TypeError(`${what}: the data must be an ArrayBuffer, a TypedArray or a DataView`);
  }
  function check(length, what) {
    if (length > config.digestMax) throw new RangeError(`${what}: ${length} bytes is more than this sandbox hashes in one call (${config.digestMax} bytes)`);
    return true;
  }

  function algorithmName(algorithm) {
    const name = typeof algorithm === "string" ? algorithm : algorithm !== null && typeof algorithm === "object" ? algorithm.name : undefined;
    if (typeof name !== "string") throw new TypeError("crypto.subtle.digest: the algorithm must be a name such as \"SHA-256\" or { name: \"SHA-256\" }");
    const upper = name.length <= 16 ? name.toUpperCase() : "";
    if (!DIGESTS.includes(upper)) {
      const shown = name.length > 40 ? `${name.slice(0, 40)}…` : name;
      throw new DOMExc(`crypto.subtle.digest: unrecognized algorithm "${shown}" (available: ${DIGESTS.join(", ")})`, "NotSupportedError");
    }
    return upper;
  }

  const subtle = {
    digest(algorithm, data) {
      return new PromiseCtor((resolve) => {
        const name = algorithmName(algorithm);
        resolve(native("digest", name, copyBytes(data, "crypto.subtle.digest")));
      });
    },
  };
  for (const name of SUBTLE_ABSENT) {
    subtle[name] = function () {
      return PromiseCtor.reject(new DOMExc(`crypto.subtle.${name} is not available in this sandbox (only crypto.subtle.digest is)`, "NotSupportedError"));
    };
  }
  Object.defineProperty(subtle, Symbol.toStringTag, { value: "SubtleCrypto" });
  const crypto = { getRandomValues, randomUUID, subtle };
  Object.defineProperty(crypto, Symbol.toStringTag, { value: "Crypto" });
  return crypto;
}
