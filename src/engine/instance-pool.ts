/**
 * Recycled engine instances, per realm image and memory cap.
 *
 * Invariants protected:
 * - An idle instance holds no byte of its last tenant: it is scrubbed (its
 *   image restored, engine-image.ts) the moment it is handed back, not when
 *   it is next used.
 * - An instance that faulted, or whose memory grew past its start size, is
 *   never reused (memory cannot shrink; a fault may have left it corrupt).
 * - The pool is bounded: at most {@link MAX_IDLE_PER_KEY} idle instances per
 *   image and cap, {@link MAX_IDLE_TOTAL} in all; the rest are dropped to the
 *   garbage collector.
 *
 * @packageDocumentation
 */
import { restoreEngineImage, type EngineImage } from "./engine-image.js";
import type { EngineInstance } from "./raw/engine-instance.js";

/** Idle instances kept per image and memory cap. */
export const MAX_IDLE_PER_KEY = 4;
/** Idle instances kept in all (each holds a wasm memory of at least 16 MiB, ~1–2 MB of it touched). */
export const MAX_IDLE_TOTAL = 16;

const idle = new WeakMap<EngineImage, Map<number, EngineInstance[]>>();
let idleTotal = 0;

/** Counters for tests and the bench (not part of the public API). */
export const instancePoolStats = { reused: 0, dropped: 0, scrubbed: 0, faulted: 0 };

/** An idle instance for `image` with a memory cap of `maximumPages`, if one is waiting. */
export function takeInstance(image: EngineImage, maximumPages: number): EngineInstance | undefined {
  const list = idle.get(image)?.get(maximumPages);
  const instance = list?.pop();
  if (instance) {
    idleTotal--;
    instancePoolStats.reused++;
  }
  return instance;
}

let recycling = true;

/**
 * Recycle no instances in this thread: an ended tenant's instance is dropped
 * unscrubbed (never used again; its memory goes with it). For a process that
 * makes one sandbox and exits — the CLI — where the scrub (~10–20 ms cold)
 * would prepare an instance nobody takes.
 */
export function skipInstanceRecyclingInThisThread(): void {
  recycling = false;
}

/** Hand back the instance of a tenant that ended (see the invariants). */
export function returnInstance(image: EngineImage, instance: EngineInstance): void {
  if (!recycling || instance.broken || instance.bytes > instance.initialPages * 65536 || instance.variant !== image.variant) {
    instancePoolStats.dropped++;
    return;
  }
  try {
    restoreEngineImage(image, instance);
    instancePoolStats.scrubbed++;
  } catch {
    instance.broken = true;
    instancePoolStats.dropped++;
    return;
  }
  let byCap = idle.get(image);
  if (!byCap) idle.set(image, (byCap = new Map()));
  let list = byCap.get(instance.maximumPages);
  if (!list) byCap.set(instance.maximumPages, (list = []));
  if (list.length >= MAX_IDLE_PER_KEY || idleTotal >= MAX_IDLE_TOTAL) {
    instancePoolStats.dropped++;
    return;
  }
  list.push(instance);
  idleTotal++;
}
