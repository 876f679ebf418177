/**
 * Deterministic mode: `new RExec({ deterministic: { seed, now } })`.
 *
 * Two runs of the same code with the same inputs produce the same output: every
 * source of nondeterminism the guest can read is replaced by one derived from
 * the seed or from a virtual clock —
 * - `Math.random`: xoshiro128** seeded from SHA-256("math:" + seed);
 * - `crypto.getRandomValues`/`randomUUID`: a SHA-256 counter stream from
 *   SHA-256("crypto:" + seed), on the host (src/host/web-natives.ts);
 * - `Date.now()`, `new Date()`, `performance.now()`: a virtual clock that starts
 *   at `now` and moves only when a guest timer fires (to that timer's due time);
 * - timers fire in virtual-time order (due time, then creation order), one per
 *   host turn and without real waiting — like the fake timers of test runners;
 * - time zone UTC and locale en-US (the defaults of every sandbox).
 *
 * Invariant: this is a reproducibility aid, not a security boundary. The seed
 * and the virtual time are the guest's to read (nothing secret derives from
 * them), and the guest code (src/host/guest/deterministic.js) runs in the
 * guest: a guest can undo it for itself only.
 *
 * @packageDocumentation
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** The `deterministic` option of {@link RExecOptions}. */
export interface DeterministicOptions {
  /** Seed of every random source (default 0). A safe integer or a string of at most 256 characters. */
  readonly seed?: number | string;
  /** Start of the virtual clock, in ms since the epoch (default 0, 1970-01-01T00:00:00Z). */
  readonly now?: number;
}

/** Validated {@link DeterministicOptions}. */
export interface ResolvedDeterministic {
  readonly seed: string;
  readonly now: number;
}

const SOURCE = readFileSync(new URL("./guest/deterministic.js", import.meta.url), "utf8");
/** Largest time value a Date holds (±8.64e15 ms). */
const MAX_TIME = 8.64e15;

/** Check the option; undefined/false means off. */
export function resolveDeterministic(value: unknown): ResolvedDeterministic | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { seed: "0", now: 0 };
  if (typeof value !== "object" || value === null) throw new TypeError("options.deterministic must be true or an object { seed?, now? }");
  for (const key of Object.keys(value)) {
    if (key !== "seed" && key !== "now") throw new TypeError(`unknown deterministic option "${key}"; known: seed, now`);
  }
  const { seed = 0, now = 0 } = value as DeterministicOptions;
  if (!(typeof seed === "number" ? Number.isSafeInteger(seed) : typeof seed === "string" && seed.length <= 256)) {
    throw new TypeError("options.deterministic.seed must be a safe integer or a string of at most 256 characters");
  }
  if (typeof now !== "number" || !Number.isFinite(now) || Math.abs(now) > MAX_TIME) {
    throw new TypeError("options.deterministic.now must be a time in ms since the epoch (a finite number within ±8.64e15)");
  }
  return { seed: `${typeof seed}:${seed}`, now };
}

/** A deterministic byte stream (SHA-256 in counter mode) for crypto's random bytes. */
export function seededRandomBytes(resolved: ResolvedDeterministic): (count: number) => Uint8Array {
  const key = createHash("sha256").update(`crypto:${resolved.seed}`).digest();
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (count) => {
    const blocks: Buffer[] = [pool];
    let have = pool.length;
    while (have < count) {
      const block = createHash("sha256").update(key).update(String(counter++)).digest();
      blocks.push(block);
      have += block.length;
    }
    const all = Buffer.concat(blocks);
    pool = all.subarray(count);
    return new Uint8Array(all.subarray(0, count));
  };
}

/**
 * Install the guest side (after the prelude: it wraps the prelude's timers).
 * Math.random's state is written into the call's copied configuration.
 */
// The realm's one method used here, so the public declarations (RExecOptions names
// DeterministicOptions) load nothing of the boundary's or the engine's.
export async function installDeterminism(realm: { installPrelude(source: string, fileName: string, arg: unknown): Promise<void> }, resolved: ResolvedDeterministic): Promise<void> {
  const digest = createHash("sha256").update(`math:${resolved.seed}`).digest();
  const state: number[] = [0, 4, 8, 12].map((i) => digest.readUInt32LE(i));
  if (!state.some((word) => word !== 0)) state[0] = 1; // xoshiro's one forbidden state
  await realm.installPrelude(SOURCE, "<rexec:deterministic>", { now: resolved.now, state });
}
