/**
 * Engine images: the complete state of an engine at rest, captured once and
 * restored into fresh or recycled wasm instances (ENGINE-FACTS §7–8).
 *
 * Invariants protected:
 * - **A restored engine holds no byte of any previous tenant.** Linear memory
 *   has four parts: static data [0, stackLow), the C stack [stackLow,
 *   stackTop), the heap [stackTop, break) and never-used memory above the
 *   allocator's break (a high-water mark: it never goes down). Restoring
 *   overwrites the static data and the image's heap, zeroes the heap from the
 *   image's break to the tenant's break, and zeroes the C stack as deep as any
 *   tenant could have written (see {@link stackScrubBytes}); the one mutable
 *   wasm global, the stack pointer, is reset. test/engine/recycling.test.ts
 *   searches the whole memory for a previous tenant's secrets after every
 *   kind of tenant end.
 * - **No per-tenant secret is shared through the image.** The image is taken
 *   before any tenant exists; `Math.random`'s state is reseeded from the
 *   host's CSPRNG on every restore (an image would otherwise replay the same
 *   sequence in every sandbox).
 * - **Build facts are derived, then checked, never assumed.** The allocator's
 *   break word is found by observation on the running build, the pinned
 *   offset of the PRNG state is verified by seeding, and the binary's hash
 *   must be one pinned below.
 *   Any mismatch turns images off for that build (sandboxes then start fresh,
 *   slower but correct).
 *
 * @packageDocumentation
 */
import { webcrypto } from "node:crypto";
import type { TrackerImageState } from "./rejection-tracker.js";
import type { EngineInstance } from "./raw/engine-instance.js";
import { engineBinaryFacts, WASM_PAGE_BYTES, type EngineVariantName } from "./wasm-variant.js";

/**
 * Per pinned build, by the SHA-256 of the shipped wasm: its C stack size
 * (emscripten's STACK_SIZE, 5 MiB in quickjs-emscripten 0.32) and where its
 * context keeps `Math.random`'s state (measured by diffing the context around
 * a `Math.random()` call; verified by seeding on every start, see
 * {@link findRandomOffset}). A build not listed here runs without images.
 */
const PINNED: Readonly<Record<string, { readonly stackBytes: number; readonly randomOffset: number }>> = {
  // @jitl/quickjs-ng-wasmfile-release-sync 0.32.0: ctx->random_state at 280 (right before the interrupt counter)
  b56fe5094b8751c47b8c32fb5ed4d75afe2dbb43412d3d983ac5d1156af456da: { stackBytes: 5 * 1024 * 1024, randomOffset: 280 },
  // @jitl/quickjs-wasmfile-release-sync 0.32.0: ctx->random_state at 224
  "105c3bed22d457e43e3d1c3c1c6959fda62a8fe06f0fc8a985303c3a2be72232": { stackBytes: 5 * 1024 * 1024, randomOffset: 224 },
};

/** What restoring an engine needs besides memory: the owner's view of it. */
export interface EngineState {
  readonly rt: number;
  readonly ctx: number;
  /** Refs the image's owner holds (they stay valid in every restored engine). */
  readonly owned: readonly number[];
  /** Host functions by slot name → host-ref id. */
  readonly slots: ReadonlyMap<string, number>;
  readonly nextHostId: number;
}

/** Facts of one build, derived on a running instance (see the invariants). */
export interface ImageFacts {
  readonly stackTop: number;
  readonly stackLow: number;
  /** Address of the allocator's break word. */
  readonly breakAddress: number;
  /** Offset of `Math.random`'s 64-bit state in the context. */
  readonly randomOffset: number;
}

/** A captured engine. Immutable once made; shared by every sandbox of its configuration. */
export interface EngineImage {
  readonly variant: EngineVariantName;
  readonly facts: ImageFacts;
  readonly low: Uint8Array;
  readonly heap: Uint8Array;
  /** The allocator's break at capture: the image's heap is [stackTop, top). */
  readonly top: number;
  /** Pages the image needs. */
  readonly pages: number;
  readonly state: EngineState;
  readonly tracker: TrackerImageState | undefined;
  /** Bytes the image holds. */
  readonly bytes: number;
}

function words(instance: EngineInstance): Uint32Array {
  return new Uint32Array(instance.memory.buffer);
}

/**
 * Find the allocator's break word: the one word of static data that moves to
 * the new break when a large allocation extends the heap. Undefined when it
 * cannot be told for sure.
 */
export function findBreakAddress(instance: EngineInstance, stackLow: number): number | undefined {
  const before = words(instance).slice(0, stackLow >>> 2);
  const size = 2 * 1024 * 1024;
  const block = instance.em._malloc(size);
  if (block === 0) return undefined;
  const candidates: Array<[address: number, value: number]> = [];
  const after = words(instance);
  const end = instance.bytes;
  for (let i = 0; i < before.length; i++) {
    const value = after[i]!;
    if (value !== before[i] && value >= block + size && value <= end) candidates.push([i * 4, value]);
  }
  instance.em._free(block);
  // The break is a high-water mark: freeing does not lower it (the allocator's own top pointer moves back).
  const now = words(instance);
  const stayed = candidates.filter(([address, value]) => now[address >>> 2] === value);
  return stayed.length === 1 ? stayed[0]![0] : undefined;
}

/**
 * Verify that `Math.random`'s state is at `offset` in the context at `ctx`:
 * those 8 bytes change when `Math.random()` runs, the same seed written there
 * gives the same number, another seed another one.
 */
export function findRandomOffset(instance: EngineInstance, ctx: number, offset: number, evalNumber: (code: string) => number): number | undefined {
  const state = () => new BigUint64Array(instance.memory.buffer, ctx + offset, 1)[0];
  evalNumber("0");
  const before = state();
  evalNumber("Math.random()");
  if (state() === before) return undefined;
  const seedAt = (value: bigint) => (new BigUint64Array(instance.memory.buffer, ctx + offset, 1)[0] = value);
  seedAt(0x1234_5678_9abc_def1n);
  const r1 = evalNumber("Math.random()");
  seedAt(0x1234_5678_9abc_def1n);
  const r2 = evalNumber("Math.random()");
  seedAt(0x0fed_cba9_8765_4321n);
  const r3 = evalNumber("Math.random()");
  reseed(instance, ctx + offset);
  return r1 === r2 && r1 !== r3 ? offset : undefined;
}

const seed = new BigUint64Array(1);
/** Fresh nonzero 64-bit state from the host's CSPRNG at `address`. */
export function reseed(instance: EngineInstance, address: number): void {
  do webcrypto.getRandomValues(seed);
  while (seed[0] === 0n);
  new BigUint64Array(instance.memory.buffer, address, 1)[0] = seed[0]!;
}

/** Give the engine restored from `image` into `instance` its own Math.random sequence. */
export function reseedRandom(image: EngineImage, instance: EngineInstance): void {
  reseed(instance, image.state.ctx + image.facts.randomOffset);
}

/** The stack pinned for this build, or undefined (then no images). */
export function pinnedFacts(variant: EngineVariantName): { readonly stackBytes: number; readonly randomOffset: number } | undefined {
  const facts = engineBinaryFacts(variant);
  return facts.sha256 !== undefined && Object.hasOwn(PINNED, facts.sha256) ? PINNED[facts.sha256] : undefined;
}

const derived = new Map<EngineVariantName, ImageFacts | null>();

/** The image facts of `variant` if derived in this thread (null: unavailable; undefined: not derived yet). */
export function knownImageFacts(variant: EngineVariantName): ImageFacts | null | undefined {
  return derived.get(variant);
}

/** The image facts of `instance`'s build, derived once per thread (null: images unavailable). */
export function imageFacts(instance: EngineInstance, ctx: number, evalNumber: (code: string) => number): ImageFacts | null {
  const known = derived.get(instance.variant);
  if (known !== undefined) return known;
  let facts: ImageFacts | null = null;
  const pinned = pinnedFacts(instance.variant);
  const stackTop = engineBinaryFacts(instance.variant).stackTop;
  if (pinned !== undefined && stackTop !== undefined && instance.imageable) {
    const stackLow = stackTop - pinned.stackBytes;
    const breakAddress = findBreakAddress(instance, stackLow);
    const randomOffset = breakAddress === undefined ? undefined : findRandomOffset(instance, ctx, pinned.randomOffset, evalNumber);
    if (breakAddress !== undefined && randomOffset !== undefined) facts = { stackTop, stackLow, breakAddress, randomOffset };
  }
  derived.set(instance.variant, facts);
  return facts;
}

/** Capture `instance` at rest. Undefined when its build has no image facts or it is not at rest. */
export function captureEngineImage(instance: EngineInstance, state: EngineState, tracker: TrackerImageState | undefined, facts: ImageFacts | null | undefined): EngineImage | undefined {
  if (!facts || instance.stackPointerValue !== facts.stackTop) return undefined;
  const u8 = new Uint8Array(instance.memory.buffer);
  const top = words(instance)[facts.breakAddress >>> 2]!;
  if (top < facts.stackTop || top > u8.length) return undefined;
  const low = u8.slice(0, facts.stackLow);
  const heap = u8.slice(facts.stackTop, top);
  return {
    variant: instance.variant,
    facts,
    low,
    heap,
    top,
    pages: Math.ceil(top / WASM_PAGE_BYTES),
    state: { ...state, owned: [...state.owned], slots: new Map(state.slots) },
    tracker,
    bytes: low.length + heap.length,
  };
}

/**
 * How deep a tenant may have written into the C stack: QuickJS checks its
 * stack limit against the C stack pointer, so guest recursion stays within
 * `stackBytes`; 1 MiB more covers the C frames that run past the last check.
 */
export function stackScrubBytes(image: EngineImage, largestStackBytes: number): number {
  return Math.min(image.facts.stackTop - image.facts.stackLow, largestStackBytes + 1024 * 1024);
}

/**
 * Write `image` into `instance` (see the invariants): its previous tenant's
 * bytes are gone afterwards. The caller reseeds Math.random ({@link reseedRandom})
 * before the next tenant runs.
 */
export function restoreEngineImage(image: EngineImage, instance: EngineInstance): EngineState {
  const { facts } = image;
  if (instance.variant !== image.variant) throw new Error("rexec internal error: an image restored into another build");
  if (instance.bytes < image.pages * WASM_PAGE_BYTES) throw new Error("rexec internal error: an image restored into too small a memory");
  const u8 = new Uint8Array(instance.memory.buffer);
  const tenantTop = Math.min(u8.length, Math.max(image.top, words(instance)[facts.breakAddress >>> 2]!));
  instance.stackPointerValue = facts.stackTop;
  // A new instance had no tenant: its C stack holds only the glue's start-up
  // frames, and zeroing it would make ~1 MiB of untouched pages resident.
  if (instance.generation > 0) u8.fill(0, facts.stackTop - stackScrubBytes(image, instance.largestStackBytes), facts.stackTop);
  u8.set(image.low, 0);
  u8.set(image.heap, facts.stackTop);
  if (tenantTop > image.top) u8.fill(0, image.top, tenantTop);
  instance.pristineFor = image;
  return image.state;
}
