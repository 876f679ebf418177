/**
 * The browser version of src/loader/esbuild-api.ts (swapped in by
 * scripts/build-browser.mjs): the core's lazily loaded esbuild API is the
 * browser stand-in of ./esbuild.ts.
 *
 * @packageDocumentation
 */
import * as esbuild from "./esbuild.js";

export function esbuildApi(): typeof esbuild {
  return esbuild;
}

/** No-op in the browser build: there is nothing to load (see src/loader/esbuild-api.ts). */
export function preloadEsbuildSoon(): void {}

/** No-op in the browser build. */
export function skipEsbuildPreloadInThisThread(): void {}
