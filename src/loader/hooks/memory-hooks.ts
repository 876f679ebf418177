/**
 * {@link MemoryHooks}: guest modules and files from an in-memory tree.
 *
 * Nothing here touches the host file system, so the threats are names that
 * mean something other than they look (`..`, NUL, backslashes), refused by the
 * same guest-path rules the file-system hooks use, and host memory: the tree
 * lives in the host's heap, outside the guest's memory cap, so every byte and
 * every entry a guest adds is counted against {@link MemoryHooksOptions.maxBytes}
 * and {@link MemoryHooksOptions.maxFiles} before the host allocates for it.
 * Invariant: the host memory the tree holds stays below about
 * 2 × `maxBytes` + `maxFiles` × (a small per-entry overhead), whatever guests write.
 *
 * @packageDocumentation
 */

import { assertSafeName, guestBasename, guestDirname, resolveGuestPath } from "../guest-path.js";
import { isTypeScriptPath, moduleFormatOf, resolveNodeStyle, type ResolutionView } from "../node-resolution.js";
import type { HookFileSystem, LoadedModule, ResolveKind, RHooks } from "../types.js";
import { guestFsError } from "./fs-errors.js";

/** Options of {@link MemoryHooks}. */
export interface MemoryHooksOptions {
  /**
   * The tree: guest path → contents. Keys may be written `src/a.ts`, `./src/a.ts`
   * or `/src/a.ts`; all mean `/src/a.ts`. Directories are implied by the files in them.
   */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  /**
   * Most bytes the tree may hold: file contents plus the length of every file and
   * directory path (default 64 MiB). A guest write or `mkdir` that would take the
   * tree past it fails with `ENOSPC`; writes that do not grow the tree always
   * succeed. The tree is host memory, outside the guest's `limits.memoryBytes`,
   * so this is what bounds it. Files given in {@link MemoryHooksOptions.files}
   * count, but are never refused.
   */
  readonly maxBytes?: number;
  /**
   * Most files and directories the tree may hold (default 10 000). Creating one
   * more fails with `EDQUOT`. Files given in {@link MemoryHooksOptions.files}
   * count, but are never refused.
   */
  readonly maxFiles?: number;
}

/** Default of {@link MemoryHooksOptions.maxBytes}: 64 MiB, the default guest memory cap. */
export const DEFAULT_MEMORY_HOOKS_MAX_BYTES = 64 * 1024 * 1024;
/** Default of {@link MemoryHooksOptions.maxFiles}. */
export const DEFAULT_MEMORY_HOOKS_MAX_FILES = 10_000;

interface MemoryFile {
  /** Storage; bytes past `size` are spare capacity for appends. */
  data: Uint8Array;
  size: number;
  mtimeMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Decode UTF-8 and drop a byte-order mark, as Node does for module sources. */
function decodeSource(data: Uint8Array): string {
  const text = decoder.decode(data);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A quota option: a non-negative safe integer, or the default when absent. */
function quotaOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`MemoryHooks: ${name} must be a non-negative integer (got ${typeof value === "number" ? value : typeof value})`);
  }
  return value;
}

/**
 * Capacity for a file growing by appends to `needed` bytes: doubling, so n appends
 * copy O(total) bytes rather than O(n × total), but never more spare room than the
 * quota has left, so the spare capacity of all files together stays below the
 * bytes they hold.
 */
function grownCapacity(current: number, needed: number, quotaLeft: number): number {
  return Math.max(needed, Math.min(current * 2, needed + Math.max(0, quotaLeft)));
}

/** Normalize a key of `files` (a host argument, so a bad one is a `TypeError`). */
function normalizeKey(key: string): string {
  try {
    assertSafeName(key, "file name");
  } catch (e) {
    throw new TypeError(`MemoryHooks: invalid file name ${JSON.stringify(key)}: ${(e as Error).message}`);
  }
  const path = resolveGuestPath("/", key);
  if (path === undefined || path === "/") throw new TypeError(`MemoryHooks: file name ${JSON.stringify(key)} is outside the tree`);
  return path;
}

/**
 * Hooks over an in-memory tree, with the same Node-style resolution as
 * {@link FileSystemHooks} (relative paths, extension and `index` probing,
 * `node_modules` packages with package.json `exports`/`main`, `type` for the
 * format). Its {@link MemoryHooks.fs} reads and writes the same tree, so a file
 * a guest writes can later be imported.
 *
 * Ids are guest paths such as `/src/main.ts`; `cwd` is `/`.
 */
export class MemoryHooks implements RHooks {
  /** The guest's working directory: always `/`. */
  readonly cwd = "/";
  /** File access for the guest's `fs`, over the same tree. */
  readonly fs: HookFileSystem;

  readonly #files = new Map<string, MemoryFile>();
  /** Directories created with `mkdir` (directories holding files are implied). */
  readonly #dirs = new Set<string>(["/"]);
  readonly #view: ResolutionView;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  /** Bytes counted against maxBytes: file sizes plus path lengths. */
  #usedBytes = 0;

  constructor(options: MemoryHooksOptions = {}) {
    this.#maxBytes = quotaOption(options.maxBytes, "maxBytes", DEFAULT_MEMORY_HOOKS_MAX_BYTES);
    this.#maxFiles = quotaOption(options.maxFiles, "maxFiles", DEFAULT_MEMORY_HOOKS_MAX_FILES);
    const now = Date.now();
    for (const [key, value] of Object.entries(options.files ?? {})) {
      const path = normalizeKey(key);
      const data = typeof value === "string" ? encoder.encode(value) : new Uint8Array(value);
      this.#files.set(path, { data, size: data.length, mtimeMs: now });
      for (let d = guestDirname(path); d !== "/"; d = guestDirname(d)) this.#dirs.add(d);
    }
    for (const path of this.#files.keys()) {
      if (this.#dirs.has(path)) throw new TypeError(`MemoryHooks: ${path} is both a file and a directory`);
    }
    for (const [path, f] of this.#files) this.#usedBytes += path.length + f.size;
    for (const dir of this.#dirs) this.#usedBytes += dir.length;
    this.#view = {
      isFile: (p) => this.#files.has(p),
      isDirectory: (p) => this.#dirs.has(p),
      readText: (p) => {
        const f = this.#files.get(p);
        return f === undefined ? undefined : decodeSource(f.data.subarray(0, f.size));
      },
    };
    this.fs = this.#makeFs();
  }

  /** {@inheritDoc RHooks.resolve} */
  resolve(specifier: string, referrer: string | undefined, kind: ResolveKind): string | undefined {
    return resolveNodeStyle(specifier, this.#referrerDir(referrer), kind, this.#view);
  }

  /** {@inheritDoc RHooks.load} */
  load(id: string): LoadedModule {
    const file = typeof id === "string" && !id.includes("\0") ? this.#files.get(id) : undefined;
    if (file === undefined) throw guestFsError("ENOENT", "open", String(id));
    return { id, source: decodeSource(file.data.subarray(0, file.size)), format: moduleFormatOf(id, this.#view), typescript: isTypeScriptPath(id) };
  }

  /** The directory of a referrer id; `cwd` when there is none (or it is not a guest path). */
  #referrerDir(referrer: string | undefined): string {
    if (referrer === undefined || !referrer.startsWith("/") || referrer.includes("\0")) return this.cwd;
    return guestDirname(resolveGuestPath("/", referrer) ?? this.cwd);
  }

  /** Files and directories in the tree (the root `/` is not counted). */
  #entryCount(): number {
    return this.#files.size + this.#dirs.size - 1;
  }

  /** Refuse adding `bytes` (when > 0) and `entries` to the tree past its quotas. */
  #reserve(bytes: number, entries: number, syscall: string, path: string): void {
    if (entries > 0 && this.#entryCount() + entries > this.#maxFiles) {
      throw guestFsError("EDQUOT", syscall, path, `the tree holds at most ${this.#maxFiles} files and directories; the host can raise the MemoryHooks option maxFiles`);
    }
    if (bytes > 0 && this.#usedBytes + bytes > this.#maxBytes) {
      throw guestFsError("ENOSPC", syscall, path, `the tree holds at most ${this.#maxBytes} bytes of files and paths; the host can raise the MemoryHooks option maxBytes`);
    }
  }

  #makeFs(): HookFileSystem {
    const files = this.#files;
    const dirs = this.#dirs;
    const isDir = (p: string) => dirs.has(p);
    return {
      canonicalPath(guestPath: string, cwd: string): string | undefined {
        if (typeof guestPath !== "string" || guestPath.includes("\0") || guestPath.includes("\\")) return undefined;
        const base = resolveGuestPath("/", cwd) ?? "/";
        const path = resolveGuestPath(base, guestPath);
        if (path === undefined) return undefined;
        if (files.has(path) || isDir(path)) return path;
        return isDir(guestDirname(path)) ? path : undefined;
      },
      readFile(path: string): Uint8Array {
        const f = files.get(path);
        if (f === undefined) throw guestFsError(isDir(path) ? "EISDIR" : "ENOENT", "open", path);
        return f.data.slice(0, f.size);
      },
      writeFile: (path: string, data: Uint8Array, append: boolean): void => {
        if (isDir(path)) throw guestFsError("EISDIR", "open", path);
        if (!isDir(guestDirname(path))) throw guestFsError("ENOENT", "open", path);
        const old = files.get(path);
        const oldSize = old?.size ?? 0;
        const size = append ? oldSize + data.length : data.length;
        // Checked before any host allocation for the new contents.
        this.#reserve(size - oldSize + (old ? 0 : path.length), old ? 0 : 1, "write", path);
        const mtimeMs = Date.now();
        if (append && old) {
          if (size > old.data.length) {
            const quotaLeft = this.#maxBytes - this.#usedBytes - (size - oldSize);
            const grown = new Uint8Array(grownCapacity(old.data.length, size, quotaLeft));
            grown.set(old.data.subarray(0, oldSize), 0);
            old.data = grown;
          }
          old.data.set(data, oldSize);
          old.size = size;
          old.mtimeMs = mtimeMs;
        } else {
          // A copy: the caller keeps its buffer.
          files.set(path, { data: new Uint8Array(data), size, mtimeMs });
        }
        this.#usedBytes += size - oldSize + (old ? 0 : path.length);
      },
      readdir(path: string): string[] {
        if (!isDir(path)) throw guestFsError(files.has(path) ? "ENOTDIR" : "ENOENT", "scandir", path);
        const names = new Set<string>();
        for (const p of [...files.keys(), ...dirs]) {
          if (p !== "/" && guestDirname(p) === path) names.add(guestBasename(p));
        }
        return [...names].sort();
      },
      stat(path: string) {
        const f = files.get(path);
        if (f !== undefined) return { kind: "file" as const, size: f.size, mtimeMs: f.mtimeMs };
        return isDir(path) ? { kind: "directory" as const, size: 0, mtimeMs: 0 } : undefined;
      },
      mkdir: (path: string): void => {
        if (files.has(path) || isDir(path)) throw guestFsError("EEXIST", "mkdir", path);
        if (!isDir(guestDirname(path))) throw guestFsError("ENOENT", "mkdir", path);
        this.#reserve(path.length, 1, "mkdir", path);
        dirs.add(path);
        this.#usedBytes += path.length;
      },
      unlink: (path: string): void => {
        if (isDir(path)) throw guestFsError("EISDIR", "unlink", path);
        const f = files.get(path);
        if (f === undefined) throw guestFsError("ENOENT", "unlink", path);
        files.delete(path);
        this.#usedBytes -= path.length + f.size;
      },
    };
  }
}
