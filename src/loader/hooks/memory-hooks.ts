/**
 * {@link MemoryHooks}: guest modules and files from an in-memory tree.
 *
 * Nothing here touches the host file system, so the only threats are names
 * that mean something other than they look (`..`, NUL, backslashes); those are
 * refused by the same guest-path rules the file-system hooks use.
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
}

interface MemoryFile {
  data: Uint8Array;
  mtimeMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Decode UTF-8 and drop a byte-order mark, as Node does for module sources. */
function decodeSource(data: Uint8Array): string {
  const text = decoder.decode(data);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
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

  constructor(options: MemoryHooksOptions = {}) {
    const now = Date.now();
    for (const [key, value] of Object.entries(options.files ?? {})) {
      const path = normalizeKey(key);
      const data = typeof value === "string" ? encoder.encode(value) : new Uint8Array(value);
      this.#files.set(path, { data, mtimeMs: now });
      for (let d = guestDirname(path); d !== "/"; d = guestDirname(d)) this.#dirs.add(d);
    }
    for (const path of this.#files.keys()) {
      if (this.#dirs.has(path)) throw new TypeError(`MemoryHooks: ${path} is both a file and a directory`);
    }
    this.#view = {
      isFile: (p) => this.#files.has(p),
      isDirectory: (p) => this.#dirs.has(p),
      readText: (p) => {
        const f = this.#files.get(p);
        return f === undefined ? undefined : decodeSource(f.data);
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
    return { id, source: decodeSource(file.data), format: moduleFormatOf(id, this.#view), typescript: isTypeScriptPath(id) };
  }

  /** The directory of a referrer id; `cwd` when there is none (or it is not a guest path). */
  #referrerDir(referrer: string | undefined): string {
    if (referrer === undefined || !referrer.startsWith("/") || referrer.includes("\0")) return this.cwd;
    return guestDirname(resolveGuestPath("/", referrer) ?? this.cwd);
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
        return f.data.slice();
      },
      writeFile(path: string, data: Uint8Array, append: boolean): void {
        if (isDir(path)) throw guestFsError("EISDIR", "open", path);
        if (!isDir(guestDirname(path))) throw guestFsError("ENOENT", "open", path);
        const old = files.get(path);
        let next = new Uint8Array(data);
        if (append && old) {
          next = new Uint8Array(old.data.length + data.length);
          next.set(old.data, 0);
          next.set(data, old.data.length);
        }
        files.set(path, { data: next, mtimeMs: Date.now() });
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
        if (f !== undefined) return { kind: "file" as const, size: f.data.length, mtimeMs: f.mtimeMs };
        return isDir(path) ? { kind: "directory" as const, size: 0, mtimeMs: 0 } : undefined;
      },
      mkdir(path: string): void {
        if (files.has(path) || isDir(path)) throw guestFsError("EEXIST", "mkdir", path);
        if (!isDir(guestDirname(path))) throw guestFsError("ENOENT", "mkdir", path);
        dirs.add(path);
      },
      unlink(path: string): void {
        if (isDir(path)) throw guestFsError("EISDIR", "unlink", path);
        if (!files.delete(path)) throw guestFsError("ENOENT", "unlink", path);
      },
    };
  }
}
