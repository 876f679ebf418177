/**
 * What a one-shot command (`rexec run`, `rexec eval`) changes in its own
 * process to start fast: issue 13 asks for `rexec eval 1+1` within twice
 * `node -e 1`.
 *
 * - Realm images from disk (image-cache.ts): the second command of a
 *   configuration restores its realm instead of evaluating the set-up. With
 *   the cache off, no image at all: in memory it would pay off only at a
 *   second sandbox, which a one-shot command never makes.
 * - No esbuild preload (loader/esbuild-api.ts): loaded when a command needs it.
 * - No instance recycling (instance-pool.ts): its scrub at dispose prepares
 *   an instance for a next sandbox that never comes.
 * - `eval` only: no warm-up (warm-up.ts), which buys a fast first heavy call
 *   with ~250 ms spent before it — the wrong trade for one expression. `run`
 *   keeps it: a script's first heavy call ran ~1.5–2× slower without it
 *   (fib(27) 120–130 against 50–85 ms, measured), enough to cross the default
 *   1 s CPU limit on a 300,000-element sort.
 * - `eval` only: no optimising compiles of the engine during the realm's
 *   set-up. V8 starts wasm in baseline code and compiles hot functions with its
 *   optimising compiler on background threads; the set-up (kernel, guards,
 *   prelude, module runtime) makes the interpreter hot, and on exit Node waits
 *   for every compile in flight: measured 60–190 ms after the last guest line,
 *   and a core taken from the main thread meanwhile. So while the set-up runs,
 *   tier-up is limited to a function index the engine does not have; it is
 *   restored before guest code runs, so a long expression is optimised as
 *   usual (V8 asks again for a hot function, at increasing priorities).
 *
 * Only the CLI does this: it owns its process. A library host keeps V8's
 * defaults.
 *
 * @packageDocumentation
 */
import { setFlagsFromString } from "node:v8";
import { skipWarmUpInThisThread } from "../engine/warm-up.js";
import { skipRealmImagesInThisThread, useRealmImageStore } from "../boundary/realm-image.js";
import { diskImageStore } from "./image-cache.js";
import type { RExec } from "../host/rexec.js";
import { prepareEngine } from "../engine/raw/engine-instance.js";
import { skipEsbuildPreloadInThisThread } from "../loader/esbuild-api.js";
import { skipInstanceRecyclingInThisThread } from "../engine/instance-pool.js";

/** A wasm function index past any the engine builds define (they have ~1,200). */
const NO_FUNCTION = 2_000_000_000;

/**
 * Set this process up for one sandbox; returns the call that lets V8 optimise
 * again (undefined when `quickStart` is false: nothing is held).
 *
 * @param quickStart - skip the warm-up and hold tier-up during the set-up (`eval`, the REPL).
 */
export function oneShotProcess(quickStart: boolean): (() => void) | undefined {
  // The engine compiles on V8's background threads (and its glue loads) while the sandbox's code loads.
  prepareEngine();
  skipInstanceRecyclingInThisThread();
  skipEsbuildPreloadInThisThread();
  const store = diskImageStore();
  if (store) useRealmImageStore(store);
  else skipRealmImagesInThisThread();
  if (!quickStart) return undefined;
  skipWarmUpInThisThread();
  setFlagsFromString(`--wasm-tier-up-filter=${NO_FUNCTION}`);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    setFlagsFromString("--wasm-tier-up-filter=-1");
  };
}

/**
 * Wait until `rx`'s realm is set up (an empty evaluation: nothing the guest
 * can observe), then `release` the hold on tier-up. A start-up failure is
 * left for the command's own call to report.
 */
export async function afterSetUp(rx: RExec, release: (() => void) | undefined): Promise<void> {
  if (!release) return;
  try {
    await rx.r_eval("void 0");
  } catch {
    // reported by the real call
  } finally {
    release();
  }
}
