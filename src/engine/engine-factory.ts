/**
 * Making engines: fresh (a new runtime and context, the rejection tracker
 * installed and self-tested, the poll pacing verified — all before any guest
 * code), or restored from an engine image into a recycled or new instance
 * (engine-image.ts), and the image facts of a build derived on a throwaway
 * engine. The engine itself is quickjs-engine.ts.
 *
 * @packageDocumentation
 */
import type { HostCallback } from "./engine.js";
import { QuickJSEngine, type QuickJSEngineOptions } from "./quickjs-engine.js";
import { BASELINE_PAGES, WASM_PAGE_BYTES, ENGINE_VARIANT, type EngineVariantName } from "./wasm-variant.js";
import { warmUpEngine } from "./warm-up.js";
import { RejectionTracker, TrackerBrokeEngine } from "./rejection-tracker.js";
import { EngineInstance } from "./raw/engine-instance.js";
import { rawFFI } from "./raw/raw-ffi.js";
import { trackerHost } from "./raw/tracker-binding.js";
import { imageFacts, knownImageFacts, reseedRandom, restoreEngineImage, type EngineImage, type ImageFacts } from "./engine-image.js";

export type { QuickJSEngineOptions } from "./quickjs-engine.js";
export { QuickJSEngine } from "./quickjs-engine.js";

/** Pages of wasm memory for a guest heap of `memoryBytes` on top of the engine's baseline. */
export function wasmPagesFor(memoryBytes: number): number {
  return BASELINE_PAGES + Math.ceil(memoryBytes / WASM_PAGE_BYTES);
}

/** Create a new engine: one wasm instance, one runtime, one context. */
export async function createQuickJSEngine(options: QuickJSEngineOptions): Promise<QuickJSEngine> {
  const variant = options.variant ?? ENGINE_VARIANT;
  if (options.warmUp !== false) await warmUpEngine(variant);
  const maximum = wasmPagesFor(options.memoryBytes);
  const log = options.log ?? (() => {});
  const instance = await EngineInstance.create(variant, BASELINE_PAGES, maximum, log);
  const ffi = rawFFI(instance);
  const rt = ffi.QTS_NewRuntime();
  const ctx = ffi.QTS_NewContext(rt, 0);
  if (rt === 0 || ctx === 0) throw new RangeError("rexec: the engine could not allocate its runtime");
  const engine = new QuickJSEngine(instance, rt, ctx, options, log);
  instance.tenant = engine;
  instance.generation = 1;
  // --- Unhandled-rejection tracking (rejection-tracker.ts): installed and
  // self-tested before any guest code runs and before the interrupt handler.
  try {
    engine.tracker = RejectionTracker.install(trackerHost(instance, rt, ctx, variant, log));
  } catch (error) {
    instance.broken = true;
    // The self-test broke this instance: drop it unfreed; tracking is now off for this build.
    if (error instanceof TrackerBrokeEngine) return createQuickJSEngine(options);
    throw error;
  }
  engine.startPolling(true);
  return engine;
}

/**
 * An engine restored from `image`: into `instance` when given (a recycled
 * instance whose previous tenant is gone; see instance-pool.ts), else into a
 * new instance. `bindings` answer the image's host-function slots.
 */
export async function engineFromImage(image: EngineImage, options: QuickJSEngineOptions, bindings: ReadonlyMap<string, HostCallback>, instance?: EngineInstance): Promise<QuickJSEngine> {
  const log = options.log ?? (() => {});
  if (!instance) instance = await EngineInstance.create(image.variant, Math.max(BASELINE_PAGES, image.pages), wasmPagesFor(options.memoryBytes), log);
  return adoptImage(image, options, bindings, instance);
}

/** Restore `image` into `instance` (synchronously) and bind it to a new engine. */
export function adoptImage(image: EngineImage, options: QuickJSEngineOptions, bindings: ReadonlyMap<string, HostCallback>, instance: EngineInstance): QuickJSEngine {
  const log = options.log ?? (() => {});
  const state = instance.pristineFor === image ? image.state : restoreEngineImage(image, instance);
  instance.pristineFor = undefined;
  reseedRandom(image, instance);
  const engine = new QuickJSEngine(instance, state.rt, state.ctx, options, log);
  engine.adopt(state, bindings);
  instance.tenant = engine;
  instance.generation++;
  engine.tracker = RejectionTracker.adopt(trackerHost(instance, state.rt, state.ctx, image.variant, log), image.tracker);
  engine.startPolling(false);
  return engine;
}

/**
 * Derive the image facts of `variant` (engine-image.ts) once per thread, on a
 * throwaway engine: finding the allocator's break word grows its heap by
 * 2 MiB, which must not end up in any image. Null when images are unavailable.
 */
export async function deriveImageFacts(variant: EngineVariantName, log: (line: string) => void = () => {}): Promise<ImageFacts | null> {
  const known = knownImageFacts(variant);
  if (known !== undefined) return known;
  const probe = await createQuickJSEngine({ variant, memoryBytes: 32 * 1024 * 1024, stackBytes: 256 * 1024, shouldInterrupt: () => false, log });
  try {
    return imageFacts(probe.instanceForImage()!, probe.ctx, (code) => {
      const ref = probe.evalScript(code, "<rexec:image-probe>");
      try {
        return probe.getNumber(ref);
      } finally {
        probe.free(ref);
      }
    });
  } finally {
    probe.dispose();
  }
}

