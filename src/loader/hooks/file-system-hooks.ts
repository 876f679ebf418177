/**
 * {@link FileSystemHooks}: guest modules and files from host directories.
 *
 * The path-security work lives in `root-jail.ts` (virtual ids, realpath checks,
 * verified descriptors); the Node-style algorithm in `node-resolution.ts`. This
 * file only wires the two together.
 *
 * @packageDocumentation
 */

import { resolveGuestPath, guestBasename, guestDirname, guestJoin } from "../guest-path.js";
import { isTypeScriptPath, moduleFormatOf, resolveNodeStyle, type ResolutionView } from "../node-resolution.js";
import type { HookFileSystem, LoadedModule, ResolveKind, RHooks } from "../types.js";
import { RootJail } from "./root-jail.js";
import { guestFsError } from "./fs-errors.js";

/** Options of {@link FileSystemHooks}. */
export interface FileSystemHooksOptions {
  /**
   * The host directory (or directories) guests may read modules and files from.
   * With one root, guests see it as `/`. With several, root *i* is `/root<i>`
   * (`/root0`, `/root1`…) and the guest's working directory is `/root0`.
   */
  readonly root: string | readonly string[];
  /** Largest file that is read (module source or `fs` read), in bytes. Default 64 MiB. */
  readonly maxFileBytes?: number;
  /**
   * Most bytes guest writes may add to the files under the roots, over the life
   * of this hooks instance (default 256 MiB). Counted net: overwriting a file
   * counts only its growth, and deleting a file credits its size back. A write
   * that would go past it fails with `ENOSPC` before anything is written.
   * Growth by other processes is not counted; give each sandbox run its own
   * hooks instance (or its own directory) for a per-run quota.
   */
  readonly maxWriteBytes?: number;
  /**
   * Most files and directories guest writes may create under the roots, over
   * the life of this hooks instance (default 10 000; deleting one credits it
   * back). One more fails with `EDQUOT`.
   */
  readonly maxWriteFiles?: number;
}

const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
/** Default of {@link FileSystemHooksOptions.maxWriteBytes}. */
export const DEFAULT_FS_HOOKS_MAX_WRITE_BYTES = 256 * 1024 * 1024;
/** Default of {@link FileSystemHooksOptions.maxWriteFiles}. */
export const DEFAULT_FS_HOOKS_MAX_WRITE_FILES = 10_000;
const decoder = new TextDecoder();

/** A quota option: a non-negative safe integer, or the default when absent. */
function quotaOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`FileSystemHooks: ${name} must be a non-negative integer (got ${typeof value === "number" ? value : typeof value})`);
  }
  return value;
}

/** Decode UTF-8 and drop a byte-order mark, as Node does for module sources. */
function decodeSource(data: Uint8Array): string {
  const text = decoder.decode(data);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Hooks over host directories. Nothing outside the roots is ever resolved or
 * read, whatever the specifier holds (`..`, absolute paths, `file:` URLs,
 * percent-escapes, backslashes, NUL bytes, symlinks out, symlinks swapped after
 * the check). Packages under `node_modules` resolve as in Node (package.json
 * `exports` with `import`/`require`/`default`, `main`, `index`).
 *
 * Ids are *virtual* guest paths (`/src/main.ts`), never host paths, because
 * guests see ids in stacks and `import.meta.url`. Symlinks are resolved in ids,
 * so a file reached by two paths is one module.
 */
export class FileSystemHooks implements RHooks {
  /** `/`, or `/root0` with several roots. */
  readonly cwd: string;
  /** File access for the guest's `fs` on the real files inside the roots. */
  readonly fs: HookFileSystem;

  readonly #jail: RootJail;
  readonly #maxBytes: number;
  readonly #view: ResolutionView;
  readonly #maxWriteBytes: number;
  readonly #maxWriteFiles: number;
  /** Net bytes guest writes added under the roots (may go negative after deletions). */
  #grownBytes = 0;
  /** Net files and directories guest writes created. */
  #createdEntries = 0;

  constructor(options: FileSystemHooksOptions) {
    if (options === null || typeof options !== "object") throw new TypeError("FileSystemHooks: options { root } are required");
    this.#jail = new RootJail(options.root);
    this.#maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (!(this.#maxBytes > 0)) throw new TypeError("FileSystemHooks: maxFileBytes must be a positive number");
    this.#maxWriteBytes = quotaOption(options.maxWriteBytes, "maxWriteBytes", DEFAULT_FS_HOOKS_MAX_WRITE_BYTES);
    this.#maxWriteFiles = quotaOption(options.maxWriteFiles, "maxWriteFiles", DEFAULT_FS_HOOKS_MAX_WRITE_FILES);
    this.cwd = this.#jail.cwd;
    this.#view = {
      isFile: (p) => this.#jail.kind(p) === "file",
      isDirectory: (p) => this.#jail.kind(p) === "directory",
      readText: (p) => {
        try {
          return decodeSource(this.#jail.readFile(p, this.#maxBytes));
        } catch {
          return undefined;
        }
      },
    };
    this.fs = this.#makeFs();
  }

  /** {@inheritDoc RHooks.resolve} */
  resolve(specifier: string, referrer: string | undefined, kind: ResolveKind): string | undefined {
    const found = resolveNodeStyle(specifier, this.#referrerDir(referrer), kind, this.#view);
    // The canonical id: symlinks resolved, mapped back to a virtual path.
    return found === undefined ? undefined : this.#jail.locate(found)?.virtual;
  }

  /** {@inheritDoc RHooks.load} */
  load(id: string): LoadedModule {
    const source = decodeSource(this.#jail.readFile(id, this.#maxBytes));
    return { id, source, format: moduleFormatOf(id, this.#view), typescript: isTypeScriptPath(id) };
  }

  /** The directory of a referrer id; `cwd` when there is none (or it is not a guest path). */
  #referrerDir(referrer: string | undefined): string {
    if (referrer === undefined || !referrer.startsWith("/") || referrer.includes("\0")) return this.cwd;
    return guestDirname(resolveGuestPath("/", referrer) ?? this.cwd);
  }

  /** Refuse growing by `bytes` (when > 0) or creating `entries` past the write quotas. */
  #reserve(bytes: number, entries: number, syscall: string, path: string): void {
    if (entries > 0 && this.#createdEntries + entries > this.#maxWriteFiles) {
      throw guestFsError("EDQUOT", syscall, path, `guest writes may create at most ${this.#maxWriteFiles} files and directories; the host can raise the FileSystemHooks option maxWriteFiles`);
    }
    if (bytes > 0 && this.#grownBytes + bytes > this.#maxWriteBytes) {
      throw guestFsError("ENOSPC", syscall, path, `guest writes may add at most ${this.#maxWriteBytes} bytes; the host can raise the FileSystemHooks option maxWriteBytes`);
    }
  }

  #makeFs(): HookFileSystem {
    const jail = this.#jail;
    const maxBytes = this.#maxBytes;
    return {
      canonicalPath(guestPath: string, cwd: string): string | undefined {
        if (typeof guestPath !== "string" || guestPath.includes("\0") || guestPath.includes("\\")) return undefined;
        const path = resolveGuestPath(resolveGuestPath("/", cwd) ?? jail.cwd, guestPath);
        if (path === undefined) return undefined;
        if (jail.isVirtualTop(path)) return path;
        const loc = jail.locate(path);
        if (loc !== undefined) return loc.virtual;
        // Something exists but leads outside (or dangles): never a write target.
        if (jail.existsLexically(path)) return undefined;
        const parent = jail.locate(guestDirname(path));
        if (parent === undefined || jail.kind(parent.virtual) !== "directory") return undefined;
        return guestJoin(parent.virtual, guestBasename(path));
      },
      readFile: (path) => jail.readFile(path, maxBytes),
      writeFile: (path, data, append) => {
        // The size before the write, so the quota counts growth only (one extra fstat per write).
        const before = jail.stat(path);
        const oldSize = before?.kind === "file" ? before.size : 0;
        const growth = append ? data.length : data.length - oldSize;
        const created = before === undefined ? 1 : 0;
        this.#reserve(growth, created, "write", path);
        jail.writeFile(path, data, append);
        this.#grownBytes += growth;
        this.#createdEntries += created;
      },
      readdir: (path) => jail.readdir(path),
      stat: (path) => jail.stat(path),
      mkdir: (path) => {
        this.#reserve(0, 1, "mkdir", path);
        jail.mkdir(path);
        this.#createdEntries += 1;
      },
      unlink: (path) => {
        const before = jail.stat(path);
        jail.unlink(path);
        if (before?.kind === "file") this.#grownBytes -= before.size;
        this.#createdEntries -= 1;
      },
    };
  }
}
