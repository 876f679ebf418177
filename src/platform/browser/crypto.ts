/**
 * `node:crypto` for the browser build: synchronous `createHash` (SHA-1/SHA-2,
 * from @noble/hashes — WebCrypto's digest is async only, and the core hashes
 * inside synchronous engine callbacks), `randomFillSync` and `webcrypto` over
 * the page's `crypto.getRandomValues`.
 *
 * @packageDocumentation
 */
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { Buffer } from "./buffer-class.js";

type Hasher = { update(data: Uint8Array): Hasher; digest(): Uint8Array };
const ALGORITHMS: Record<string, () => Hasher> = {
  sha1: () => sha1.create(),
  "sha-1": () => sha1.create(),
  sha256: () => sha256.create(),
  "sha-256": () => sha256.create(),
  sha384: () => sha384.create(),
  "sha-384": () => sha384.create(),
  sha512: () => sha512.create(),
  "sha-512": () => sha512.create(),
};

const encoder = new TextEncoder();

/** The subset of Node's Hash the core uses: `update` (string = UTF-8, or bytes) and `digest` (bytes, hex or base64). */
export class Hash {
  readonly #h: Hasher;
  constructor(algorithm: string) {
    const make = ALGORITHMS[algorithm.toLowerCase()];
    if (!make) throw new Error(`Digest method not supported: ${algorithm}`);
    this.#h = make();
  }
  update(data: string | Uint8Array): this {
    this.#h.update(typeof data === "string" ? encoder.encode(data) : data);
    return this;
  }
  digest(): Buffer;
  digest(encoding: "hex" | "base64"): string;
  digest(encoding?: "hex" | "base64"): Buffer | string {
    const bytes = Buffer.from(this.#h.digest());
    return encoding === undefined ? bytes : bytes.toString(encoding);
  }
}

export function createHash(algorithm: string): Hash {
  return new Hash(algorithm);
}

/** Fill `view` with cryptographically random bytes (getRandomValues takes at most 65 536 bytes per call). */
export function randomFillSync<T extends ArrayBufferView>(view: T): T {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let at = 0; at < bytes.length; at += 65536) globalThis.crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, bytes.length)));
  return view;
}

export const webcrypto = globalThis.crypto;

export default { createHash, randomFillSync, webcrypto };
