/**
 * esbuild, loaded on first use.
 *
 * Why: loading esbuild's JavaScript API costs ~45 ms, more than a whole
 * `rexec eval 1+1` may spend on start-up (issue 13: twice `node -e 1`), and
 * most runs never transpile TypeScript or scan an import graph. Its API is
 * synchronous where the core needs it (transformSync, buildSync), so it is
 * required synchronously, once, the first time a caller asks.
 *
 * @packageDocumentation
 */
import { createRequire } from "node:module";

type EsbuildApi = typeof import("esbuild");

let loaded: EsbuildApi | undefined;

/** esbuild's API (loaded by the first call; later calls return the same module). */
export function esbuildApi(): EsbuildApi {
  return (loaded ??= createRequire(import.meta.url)("esbuild") as EsbuildApi);
}
