/**
 * The CLI's realm images on disk: `rexec eval` and `rexec run` start a new
 * process each time, so the realm image a library host builds once and keeps
 * (boundary/realm-image.ts) would be built and thrown away by every command.
 * Kept here, a command started again with the same configuration restores its
 * realm (a copy of ~0.5 MB) instead of evaluating the set-up (~60 ms of the
 * ~200 ms a `rexec eval 1+1` took; issue 13).
 *
 * Invariants protected:
 * - **Nothing secret is written.** An image holds what its set-up gave the
 *   guest. Only configurations with no environment values and no script
 *   arguments are stored (`--allow-env`, or arguments after the script, turn
 *   the cache off for that command); what remains is rexec's own code, the
 *   granted paths' names and the working directory.
 * - **An image is used only by the build that made it.** The file's name and
 *   contents carry the rexec build (a hash of its dist files, made at build
 *   time), the engine build (SHA-256 of its wasm, checked after compiling) and
 *   the set-up's complete configuration key; any difference is a miss.
 *   A checksum over the contents turns a torn or corrupt file into a miss.
 * - **The cache has the user's own trust.** The directory is created 0700 and
 *   files 0600; a file not owned by this user, or writable by others, is
 *   ignored. Someone who can write the user's cache can also change rexec's
 *   own files, so no more is promised; `REXEC_CACHE_DIR=` (empty) turns the
 *   cache off.
 *
 * @packageDocumentation
 */
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { deserialize, serialize } from "node:v8";
import type { RealmImage, RealmImageStore } from "../boundary/realm-image.js";
import { engineBinaryFacts, moduleCompiled, type EngineVariantName } from "../engine/wasm-variant.js";

/** Files kept at most (least recently written dropped first). */
const MAX_FILES = 32;
/** Bumped whenever the file layout changes. */
const FORMAT = 1;

interface StoredImage {
  readonly format: number;
  readonly build: string;
  readonly variant: EngineVariantName;
  readonly wasmSha256: string;
  readonly key: string;
  readonly image: RealmImage;
}

/** The cache directory: `$REXEC_CACHE_DIR`, else `$XDG_CACHE_HOME/rexec`, else `~/.cache/rexec`; undefined when off. */
export function cacheDirectory(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const own = env.REXEC_CACHE_DIR;
  if (own !== undefined) return own === "" ? undefined : join(own, "images");
  const base = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "rexec", "images");
}

/** This rexec build's identity (dist/cli-bundle/build-id.txt, written by scripts/build-cli.mjs). */
function buildId(): string | undefined {
  try {
    return readFileSync(new URL("../cli-bundle/build-id.txt", import.meta.url), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** May this configuration be written to disk? (See the invariants.) */
export function storable(key: string): boolean {
  try {
    const parsed = JSON.parse(key) as { config?: { env?: Record<string, unknown>; argv?: unknown[] } };
    const env = parsed.config?.env;
    const argv = parsed.config?.argv;
    return env !== undefined && Object.keys(env).length === 0 && Array.isArray(argv) && argv.length <= 2;
  } catch {
    return false;
  }
}

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Is `image` shaped like a realm image (a checksum passed; this catches a rexec mismatch the build id missed)? */
function wellFormed(image: unknown): image is RealmImage {
  const i = image as RealmImage | undefined;
  const e = i?.engine;
  return Boolean(e && e.low instanceof Uint8Array && e.heap instanceof Uint8Array && typeof e.top === "number" && typeof e.pages === "number"
    && e.state && typeof e.state.rt === "number" && e.state.slots instanceof Map && i.rawRefs instanceof Map && typeof i.kernel === "object"
    && typeof i.hostFunctionCount === "number" && typeof i.resultBytes === "number");
}

/** A {@link RealmImageStore} on disk, or undefined when the cache is off or this build has no id. */
export function diskImageStore(directory = cacheDirectory()): RealmImageStore | undefined {
  const build = buildId();
  if (!directory || !build) return undefined;
  const fileOf = (variant: EngineVariantName, key: string) => join(directory, `${sha256(`${FORMAT}\u0000${build}\u0000${variant}\u0000${key}`).slice(0, 40)}.img`);
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  return {
    async load(variant, key) {
      if (!storable(key)) return undefined;
      let bytes: Buffer;
      let fd: number | undefined;
      try {
        // Non-blocking and not through a symlink: a FIFO at an image's name must not hang start-up.
        fd = openSync(fileOf(variant, key), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        const st = fstatSync(fd);
        if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0 || st.size > 64 * 1024 * 1024) return undefined;
        bytes = readFileSync(fd);
      } catch {
        return undefined;
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
      if (bytes.length < 64 || bytes.subarray(0, 64).toString("latin1") !== sha256(bytes.subarray(64))) return undefined;
      const stored = deserialize(bytes.subarray(64)) as StoredImage;
      if (stored?.format !== FORMAT || stored.build !== build || stored.variant !== variant || stored.key !== key || !wellFormed(stored.image)) return undefined;
      // The engine build: known once its module is compiled (the CLI starts that first).
      await moduleCompiled(variant);
      if (engineBinaryFacts(variant).sha256 !== stored.wasmSha256) return undefined;
      return stored.image;
    },
    save(variant, key, image) {
      if (!storable(key)) return;
      try {
        const wasmSha256 = engineBinaryFacts(variant).sha256;
        if (!wasmSha256) return;
        const payload = serialize({ format: FORMAT, build, variant, wasmSha256, key, image } satisfies StoredImage);
        mkdirSync(directory, { recursive: true, mode: 0o700 });
        const file = fileOf(variant, key);
        const temp = `${file}.${process.pid}.tmp`;
        // "wx": a new file only, so a symlink planted at the temp name is not written through.
        writeFileSync(temp, Buffer.concat([Buffer.from(sha256(payload), "latin1"), payload]), { mode: 0o600, flag: "wx" });
        renameSync(temp, file);
        prune(directory);
      } catch {
        // A cache that cannot be written is no cache: the command goes on.
      }
    },
  };
}

/** Keep at most {@link MAX_FILES} images, dropping the oldest. */
function prune(directory: string): void {
  const files = readdirSync(directory).filter((f) => f.endsWith(".img"));
  if (files.length <= MAX_FILES) return;
  const dated = files.map((f) => ({ f, t: statSync(join(directory, f)).mtimeMs })).sort((a, b) => a.t - b.t);
  for (const { f } of dated.slice(0, files.length - MAX_FILES)) rmSync(join(directory, f), { force: true });
}
