/**
 * Spare realms: a realm (its wasm instance, runtime, context and kernel) built
 * ahead of time, so a new sandbox does not wait for that part of its start-up.
 *
 * A spare has never run guest code: handing one out is the same as building a
 * new one, only earlier. Spares are kept for the two most recent engine
 * configurations (variant, memory cap, stack, result cap), one each, and are
 * refilled from `setImmediate`, i.e. when the host's event loop is idle —
 * never in the middle of a caller's start-up. Each spare holds one engine
 * baseline of memory (see `Limits.memoryBytes`).
 *
 * @packageDocumentation
 */
import type { GuestRealm, RealmOptions } from "./realm.js";

const MAX_KEYS = 2;
const spares = new Map<string, GuestRealm>();
const refilling = new Set<string>();

function keyOf(options: RealmOptions): string {
  const { memoryBytes, stackBytes, resultBytes } = options.limits;
  return `${options.variant ?? ""}|${memoryBytes}|${stackBytes}|${resultBytes}`;
}

/** Take the spare for these options (if one is ready) and schedule the next one. */
export function takeSpare(options: RealmOptions): GuestRealm | undefined {
  const key = keyOf(options);
  const spare = spares.get(key);
  spares.delete(key);
  scheduleRefill(key, options);
  if (!spare?.alive) return undefined;
  spareStats.taken++;
  return spare;
}

/** How many spares were handed out (observability, and for tests). */
export const spareStats = { taken: 0 };

function scheduleRefill(key: string, options: RealmOptions): void {
  if (refilling.has(key) || spares.has(key)) return;
  refilling.add(key);
  setImmediate(() => {
    // Imported lazily: realm.ts imports this module.
    import("./realm.js")
      .then(({ GuestRealm }) => GuestRealm.createFresh({ ...options, log: () => {} }))
      .then((realm) => {
        spares.delete(key); // re-insert as the most recent key
        spares.set(key, realm);
        while (spares.size > MAX_KEYS) {
          const oldest = spares.keys().next().value as string;
          spares.get(oldest)?.dispose();
          spares.delete(oldest);
        }
      })
      .catch(() => {
        // A spare that could not be built is simply not there; the next
        // sandbox builds its own and reports any error itself.
      })
      .finally(() => refilling.delete(key));
  }).unref();
}

/** Dispose every spare (for tests and hosts that want their memory back). */
export function disposeSpares(): void {
  for (const realm of spares.values()) realm.dispose();
  spares.clear();
}
