/**
 * esbuild, loaded on first use.
 *
 * Why: loading esbuild's JavaScript API costs ~45 ms, more than a whole
 * `rexec eval 1+1` may spend on start-up (issue 13: twice `node -e 1`), and
 * most runs never transpile TypeScript or scan an import graph. Its API is
 * synchronous where the core needs it (transformSync, buildSync), so it is
 * required synchronously, once, the first time a caller asks.
 *
 * A library host preloads it soon after a sandbox starts
 * ({@link preloadEsbuildSoon}): a guest's first import of a `.js` file asks
 * esbuild for the module's syntax from inside the guest's call, whose CPU
 * budget would otherwise be charged the ~45 ms of loading it (a 200 ms
 * plugin call then timed out under load). Starting esbuild's service stays
 * with the first real use, as before this lazy load. The CLI, which starts a process
 * per command, turns the preload off and loads it only when used.
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

let preload = true;
let scheduled = false;

/** Do not preload esbuild in this thread (the CLI: one command per process). */
export function skipEsbuildPreloadInThisThread(): void {
  preload = false;
}

/**
 * Load esbuild at the next turn of the event loop — between calls, or while a
 * call waits for the host, never inside a guest's running time — unless it
 * is loaded already or preloading is off. Keeps no process alive.
 */
export function preloadEsbuildSoon(): void {
  if (!preload || loaded || scheduled) return;
  scheduled = true;
  setImmediate(() => {
    try {
      // The API only. Its first synchronous call would also start esbuild's service
      // (another ~40 ms) — but that is a child process per thread, ~11 MB each, which
      // every pool thread would then keep whether or not a guest ever imports.
      esbuildApi();
    } catch {
      // reported by the first real use
    }
  }).unref();
}
