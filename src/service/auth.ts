/**
 * The optional bearer token of `rexec serve`.
 *
 * Invariant: the comparison takes the same time whatever the guess — both
 * sides are hashed to fixed-length digests and compared with
 * `crypto.timingSafeEqual`, so neither the token's content nor its length
 * leaks through response timing.
 *
 * @packageDocumentation
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** Longest Authorization header looked at (a longer one is refused without hashing it). */
const MAX_HEADER = 4096;

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** A checker of `Authorization: Bearer <token>` headers for one token. */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  if (typeof token !== "string" || token.length === 0) throw new TypeError("the bearer token must be a non-empty string");
  // Such a token can never arrive intact in an Authorization header (a trailing newline from a
  // secrets file; non-ASCII, which node reads as latin1): every request would be refused. Say so at start.
  if (/[^\x21-\x7e]/.test(token)) throw new TypeError("the bearer token must be visible ASCII characters: no spaces, newlines, control or non-ASCII characters");
  if (token.length > MAX_HEADER - 16) throw new TypeError(`the bearer token must be at most ${MAX_HEADER - 16} characters`);
  const expected = digest(token);
  return (header) => {
    if (typeof header !== "string" || header.length > MAX_HEADER) return false;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    // Hash something even without a match, so a malformed header costs the same as a wrong token.
    const given = digest(m?.[1] ?? "");
    return timingSafeEqual(given, expected) && m !== null;
  };
}
