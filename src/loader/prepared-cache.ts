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
 * @packageDocumentation
 */
import { createHash } from "node:crypto";

/** Entries kept (least recently used are dropped first). */
const MAX_ENTRIES = 512;
const cache = new Map<string, unknown>();

/** The cache key of a source text under `scope` (id, format, kind). */
export function preparedKey(scope: string, source: string): string {
  return `${scope}\0${createHash("sha256").update(source).digest("base64")}`;
}

/** A cached value, refreshed as most recently used. */
export function cachedPrepared<T>(key: string): T | undefined {
  const value = cache.get(key);
  if (value === undefined) return undefined;
  cache.delete(key);
  cache.set(key, value);
  return value as T;
}

/** Remember a prepared value. */
export function rememberPrepared(key: string, value: unknown): void {
  cache.set(key, value);
  while (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
}
