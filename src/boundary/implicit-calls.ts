/**
 * Names under which host built-ins call a value's functions without being asked.
 *
 * Invariant: no guest function ever reaches the host under one of these names.
 * A guest function becomes a host callable when it crosses the boundary; if it
 * sat under `then`, `toJSON`, `toString`, `valueOf`, … the host's own
 * built-ins would run guest code implicitly — `await x`, `JSON.stringify(x)`,
 * `"a" + x`, `` `${x}` ``, `x < 1`, `[x].join()`, `[x].toLocaleString()`,
 * `new Date(x)` — outside any call the host made on purpose, where a failure
 * (the guest throwing, never settling, exiting) becomes an unhandled rejection
 * or a hang of the host.
 *
 * Such a property is therefore left out of the copy: the host sees a plain
 * object (so `String(x)` is `"[object Object]"`, `JSON.stringify(x)` serialises
 * its data, `await x` is `x`). Symbol-keyed properties (`Symbol.toPrimitive`,
 * `Symbol.iterator`, `nodejs.util.inspect.custom`, …) never cross at all.
 * A guest that wants to hand such a function to the host puts it under another
 * name.
 *
 * @packageDocumentation
 */

/**
 * Property names host built-ins call implicitly:
 * - `then`: promise adoption (`await`, `Promise.resolve`, async returns);
 * - `toJSON`: `JSON.stringify`;
 * - `toString`, `valueOf`: every conversion to a primitive (`+`, templates,
 *   `String()`, `Number()`, comparisons, `Array.prototype.join`, property keys);
 * - `toLocaleString`: `Array.prototype.toLocaleString`, `Intl` formatting;
 * - `toISOString`: `Date.prototype.toJSON` applied to a non-Date;
 * - `join`: `Array.prototype.toString` applied to a non-array;
 * - `handleEvent`: `EventTarget` listener objects;
 * - `constructor`: species lookups (`Array.prototype.map` on an array-like host
 *   copy never sees it, but `Promise.prototype.then`/`finally` and typed-array
 *   methods read `constructor[Symbol.species]`).
 */
export const IMPLICIT_CALL_NAMES: ReadonlySet<string> = new Set([
  "then",
  "toJSON",
  "toString",
  "valueOf",
  "toLocaleString",
  "toISOString",
  "join",
  "handleEvent",
  "constructor",
]);

/** True if a guest function found under `key` must be left out of a copy. */
export function isImplicitCallName(key: string): boolean {
  return IMPLICIT_CALL_NAMES.has(key);
}
