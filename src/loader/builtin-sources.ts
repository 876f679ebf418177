/**
 * Guest-side sources of the safe builtin modules (`path`, `util`, …), bundled
 * from well-kept npm polyfills by `scripts/build-builtins.mjs` into
 * `dist/builtins/<name>.js`.
 *
 * Each source is a CommonJS *function body*: the loader evaluates it in the
 * guest as `(function (module, exports, require) { <source> })`. The bundles are
 * self-contained (they never call the `require` they are given) and reference no
 * global but JS builtins and `globalThis`.
 *
 * @packageDocumentation
 */

import { readFileSync } from "node:fs";

/** The builtin modules with a bundled guest source, by their bare names (no `node:` prefix). */
export const BUILTIN_MODULE_NAMES = ["path", "util", "events", "assert", "url", "querystring", "string_decoder", "buffer"] as const;

/** One of {@link BUILTIN_MODULE_NAMES}. */
export type BuiltinModuleName = (typeof BUILTIN_MODULE_NAMES)[number];

// `../../dist/builtins/` is the same directory from src/loader (run with tsx)
// and from dist/loader (the compiled package).
const BUILTINS_DIR = new URL("../../dist/builtins/", import.meta.url);
const cache = new Map<string, string>();

/** True when `name` is one of {@link BUILTIN_MODULE_NAMES}. */
export function isBuiltinModuleName(name: string): name is BuiltinModuleName {
  return (BUILTIN_MODULE_NAMES as readonly string[]).includes(name);
}

/**
 * The guest source of builtin `name` (read once, then cached).
 *
 * @throws TypeError when `name` is not a bundled builtin.
 * @throws Error when the bundle is missing: run `node scripts/build-builtins.mjs`
 *   (also part of `npm run build`).
 */
export function builtinSource(name: string): string {
  if (!isBuiltinModuleName(name)) throw new TypeError(`"${name}" is not a bundled builtin module (known: ${BUILTIN_MODULE_NAMES.join(", ")})`);
  let source = cache.get(name);
  if (source === undefined) {
    try {
      source = readFileSync(new URL(`${name}.js`, BUILTINS_DIR), "utf8");
    } catch (e) {
      throw new Error(`the guest source of builtin module "${name}" is missing (dist/builtins/${name}.js); run \`node scripts/build-builtins.mjs\` (or \`npm run build\`) first`, { cause: e });
    }
    cache.set(name, source);
  }
  return source;
}
