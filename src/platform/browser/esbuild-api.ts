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
