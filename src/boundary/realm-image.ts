/**
 * Realm images: a realm's set-up (kernel, guards, web globals, prelude) is
 * evaluated once per configuration and captured; a sandbox then starts from
 * the image in a recycled or new instance (engine/engine-image.ts,
 * engine/instance-pool.ts) instead of parsing it all again.
 *
 * Invariants protected:
 * - **An image is shared only by sandboxes whose set-up is identical.** Its
 *   key is the set-up's complete configuration (engine build, process
 *   configuration — argv, env, cwd —, removed globals, granted modules), so a
 *   value baked into an image is one every sandbox using it would have been
 *   given anyway. What differs per sandbox is applied after the restore: its
 *   host functions (bound by position, verified when the image is built), its
 *   limits, its globals, a fresh `Math.random` state.
 * - **The set-up code is the same for both paths.** A tenant re-runs its
 *   set-up in *binding mode*: nothing is evaluated, but every host function
 *   and native the set-up hands over is registered in the order the image's
 *   builder registered its own; the builder checked that order is the
 *   canonical one ({@link hostFunctionsOf}). Any difference turns the image
 *   off for that key (sandboxes then start fresh).
 *
 * @packageDocumentation
 */
import type { GuestRef } from "../engine/engine.js";
import type { EngineImage } from "../engine/engine-image.js";
import type { EngineVariantName } from "../engine/wasm-variant.js";
import type { AnyFunction, KernelRefs } from "./realm-core.js";

/** A captured realm (see the invariants). */
export interface RealmImage {
  readonly engine: EngineImage;
  readonly kernel: KernelRefs;
  /** Realm host functions the set-up registered (ids 1..n). */
  readonly hostFunctionCount: number;
  /** Refs returned by raw installs, by file name. */
  readonly rawRefs: ReadonlyMap<string, Record<string, GuestRef>>;
  /** The result limit the kernel was built with. */
  readonly resultBytes: number;
}

/** How a realm is set up: the same code builds the image and binds each tenant. */
export interface RealmSetup {
  /** The complete configuration of the set-up (see the invariants). */
  readonly key: string;
  /** Run the set-up on `realm` (evaluating on a builder, binding on a tenant). */
  install(realm: unknown): Promise<void>;
}

/** The host functions found in `value`, in the canonical order (depth first, own keys in order). */
export function hostFunctionsOf(value: unknown, out: AnyFunction[] = [], depth = 0): AnyFunction[] {
  if (typeof value === "function") {
    out.push(value as AnyFunction);
    return out;
  }
  if (typeof value !== "object" || value === null || depth > 8) return out;
  for (const key of Object.keys(value)) hostFunctionsOf((value as Record<string, unknown>)[key], out, depth + 1);
  return out;
}

/** Images kept per process (least recently used dropped first). */
const MAX_IMAGES = 8;
const images = new Map<string, Promise<RealmImage | undefined>>();

function keyOf(variant: EngineVariantName, setup: RealmSetup): string {
  return `${variant}\u0000${setup.key}`;
}

/**
 * The image of `variant` and `setup`: a promise (of undefined when images
 * are unavailable for it), or undefined when no sandbox of this configuration
 * has started yet — the caller then builds it ({@link beginRealmImage}).
 */
export function realmImageFor(variant: EngineVariantName, setup: RealmSetup): Promise<RealmImage | undefined> | undefined {
  if (imagesOff) return NO_IMAGE;
  const key = keyOf(variant, setup);
  const image = images.get(key);
  if (image) {
    // Most recently used last.
    images.delete(key);
    images.set(key, image);
  }
  return image;
}

/** Resolved "no image": the realm is set up by evaluating. */
const NO_IMAGE: Promise<RealmImage | undefined> = Promise.resolve(undefined);
let imagesOff = false;

/**
 * Build no realm images in this thread: every realm is set up by evaluating
 * (for a process that makes one sandbox and has no {@link RealmImageStore}).
 */
export function skipRealmImagesInThisThread(): void {
  imagesOff = true;
}

/**
 * Where images outlive the process: the CLI keeps them on disk
 * (cli/image-cache.ts), so a command started again with the same
 * configuration restores its realm instead of evaluating the set-up. The
 * library has none: a host process builds each image once and keeps it.
 */
export interface RealmImageStore {
  /** The stored image of `variant` and set-up `key`, if any (checked against this build). */
  load(variant: EngineVariantName, key: string): Promise<RealmImage | undefined>;
  /** Keep `image` (built in this process); failures are the store's to swallow. */
  save(variant: EngineVariantName, key: string, image: RealmImage): void;
}

let store: RealmImageStore | undefined;

/** Use `imageStore` for this thread's images (undefined: none). */
export function useRealmImageStore(imageStore: RealmImageStore | undefined): void {
  store = imageStore;
}

/**
 * The stored image of `variant` and `setup` (see {@link RealmImageStore}),
 * registered as this process's image of the configuration when found;
 * undefined at once when this thread has no store (so that two sandboxes
 * started together still share one builder).
 */
export function storedRealmImage(variant: EngineVariantName, setup: RealmSetup): Promise<RealmImage | undefined> | undefined {
  if (!store || imagesOff) return undefined;
  return store.load(variant, setup.key).then(
    (image) => {
      const key = keyOf(variant, setup);
      if (image && !images.has(key)) images.set(key, Promise.resolve(image));
      return image;
    },
    () => undefined,
  );
}

/** Drop this process's image of `variant` and `setup` (it did not fit; the next sandbox builds one). */
export function forgetRealmImage(variant: EngineVariantName, setup: RealmSetup): void {
  images.delete(keyOf(variant, setup));
}

/** Announce that the image of `variant` and `setup` is being built; `settle` it with the result (undefined: none). */
export function beginRealmImage(variant: EngineVariantName, setup: RealmSetup): { settle(image: RealmImage | undefined): void } {
  const key = keyOf(variant, setup);
  let settle!: (image: RealmImage | undefined) => void;
  const promise = new Promise<RealmImage | undefined>((resolve) => (settle = resolve));
  images.set(key, promise);
  while (images.size > MAX_IMAGES) images.delete(images.keys().next().value!);
  return {
    settle(image) {
      // A set-up that failed (or could not be captured) is tried again by the next sandbox.
      if (!image && images.get(key) === promise) images.delete(key);
      if (image && store) store.save(variant, setup.key, image);
      settle(image);
    },
  };
}

/** Forget every image (tests). */
export function clearRealmImages(): void {
  images.clear();
}
