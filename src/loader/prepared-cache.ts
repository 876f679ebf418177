/**
 * A process-wide cache of prepared module sources: the result of transpiling
 * TypeScript and of detecting ESM syntax, keyed by the module's id, declared
 * format and a hash of its source text.
 *
 * Sandboxes are often created per request around the same plugin files;
 * without this cache every realm would pay the transpiler again. The cache
 * holds only host-side derivations of source text the hooks returned — never
 * anything a guest computed — so sharing it between realms leaks nothing a
 * realm could not read itself, and a changed file (a different hash) is
 * prepared anew.
 *
 * Invariant: the cache outlives every sandbox, so it is bounded in bytes of
 * module text, not in entries — at most {@link PREPARED_CACHE_MAX_BYTES} in
 * all, and nothing larger than {@link PREPARED_ENTRY_MAX_BYTES} is kept. (A
 * guest that can write files it may import once filled 512 entries of 16 MB
 * each: gigabytes held after its sandbox was gone.)
 *
 * @packageDocumentation
 */
import { createHash } from "node:crypto";

/** Total module text the cache may hold (least recently used entries are dropped first). */
export const PREPARED_CACHE_MAX_BYTES = 64 * 1024 * 1024;
/**
 * Larger prepared sources are not cached at all: re-preparing a rare huge
 * module costs a transpile, while caching it would let a few such modules
 * evict every ordinary plugin file.
 */
export const PREPARED_ENTRY_MAX_BYTES = 8 * 1024 * 1024;

const cache = new Map<string, { value: unknown; bytes: number }>();
let cachedBytes = 0;

/** The cache key of a source text under `scope` (id, format, kind). */
export function preparedKey(scope: string, source: string): string {
  return `${scope}\0${createHash("sha256").update(source).digest("base64")}`;
}

/** A cached value, refreshed as most recently used. */
export function cachedPrepared<T>(key: string): T | undefined {
  const entry = cache.get(key);
  if (entry === undefined) return undefined;
  cache.delete(key);
  cache.set(key, entry);
  return entry.value as T;
}

/**
 * Remember a prepared value holding `bytes` of text (the source and what was
 * derived from it, as the host keeps them: count string lengths). Values over
 * the per-entry cap are not remembered.
 */
export function rememberPrepared(key: string, value: unknown, bytes: number): void {
  const old = cache.get(key);
  if (old !== undefined) {
    cache.delete(key);
    cachedBytes -= old.bytes;
  }
  if (!(bytes <= PREPARED_ENTRY_MAX_BYTES)) return;
  cache.set(key, { value, bytes });
  cachedBytes += bytes;
  while (cachedBytes > PREPARED_CACHE_MAX_BYTES) {
    const oldest = cache.keys().next().value as string;
    cachedBytes -= cache.get(oldest)!.bytes;
    cache.delete(oldest);
  }
}

/** Bytes of text the cache holds now (for tests and diagnostics). */
export function preparedCacheBytes(): number {
  return cachedBytes;
}
