/**
 * The one place where guest paths become host paths: a jail over one or more
 * host directories ("roots").
 *
 * Threats closed here:
 * - **Host paths never reach the guest.** Guests see *virtual* paths: with one
 *   root, the root is `/`; with several, root *i* is `/root<i>`. Host paths exist
 *   only inside this module; errors name virtual paths (see `fs-errors.ts`).
 * - **Lexical escapes** (`..`, absolute paths, NUL, backslashes) are impossible:
 *   callers hand in normalized guest paths, which are joined below a root.
 * - **Symlinks pointing out**: every path is `realpath`ed and must land inside a
 *   root (the real root, itself realpath'd at construction).
 * - **TOCTOU** (a symlink or directory swapped between the check and the use):
 *   files are opened with `O_NOFOLLOW` (the canonical path's last component is
 *   never a symlink, so a swapped-in link fails with `ELOOP`), and the *opened
 *   descriptor* is verified before a byte is read or written. On Linux the
 *   descriptor's real path is read from `/proc/self/fd/N` and must lie inside a
 *   root; elsewhere the descriptor's `fstat` (dev, ino) must equal the `stat` of
 *   the in-root path re-resolved after the open. Creating operations (write,
 *   mkdir, unlink) first open and verify the *parent directory* and, on Linux,
 *   then act through `/proc/self/fd/<dirfd>/<name>`, which is `openat()`
 *   semantics: a parent swapped after the check is not followed. On systems
 *   without `/proc` those three keep a small window in which a concurrent *host*
 *   process that can rename directories inside a root could redirect them (the
 *   guest cannot: it has no way to create symlinks).
 * - **Blocking opens**: `O_NONBLOCK` so a FIFO planted in a root cannot hang the
 *   host; only regular files are read.
 * - **Huge files**: reads stop at `maxBytes`.
 *
 * @packageDocumentation
 */

import * as fs from "node:fs";
import * as nodePath from "node:path";
import { RestrictedError } from "../../host/errors.js";
import { guestBasename, guestDirname, normalizeGuestPath } from "../guest-path.js";
import { guestFsError, toGuestFsError } from "./fs-errors.js";

const C = fs.constants;
// Missing on Windows; there the dev/ino verification below still applies.
const O_NOFOLLOW = C.O_NOFOLLOW ?? 0;
const O_NONBLOCK = C.O_NONBLOCK ?? 0;
const O_DIRECTORY = C.O_DIRECTORY ?? 0;

/** One host root and the virtual prefix guests see it under (`""` = the guest's `/`). */
interface Root {
  readonly prefix: string;
  readonly real: string;
}

/** Is `/proc/self/fd/N` a faithful "real path of descriptor N" on this host? Checked once. */
function detectProcFd(probeDir: string): boolean {
  if (process.platform !== "linux") return false;
  let fd: number | undefined;
  try {
    fd = fs.openSync(probeDir, C.O_RDONLY | O_DIRECTORY);
    return fs.readlinkSync(`/proc/self/fd/${fd}`) === probeDir;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The error thrown when a path turns out (at open time) to lead outside the roots. */
function escapeError(guestPath: string): RestrictedError {
  return new RestrictedError(`file ${guestPath} (it resolves outside the allowed roots)`, "add the directory it points to as a root");
}

/**
 * Maps guest paths to host paths under a set of roots and performs every host
 * file operation the hooks need, with the checks described above.
 * Internal: not part of the public API.
 */
export class RootJail {
  /** The roots, realpath'd. */
  readonly roots: readonly Root[];
  /** The guest working directory: `/`, or `/root0` with several roots. */
  readonly cwd: string;
  /** Descriptor paths can be read from `/proc/self/fd`. */
  readonly procFd: boolean;
  /** Test seam: called with the checked host path just before it is opened. */
  readonly #beforeOpen: ((hostPath: string) => void) | undefined;

  /**
   * @param root - one host directory or several; each must exist.
   * @param testing - for tests only. `beforeOpen` runs between the check and the
   *   open (of the file to read, or of the parent directory of a write, mkdir or
   *   unlink), to simulate a race; `useProcFd: false` forces the portable
   *   (dev, ino) verification even where `/proc/self/fd` exists.
   */
  constructor(root: string | readonly string[], testing: { beforeOpen?: (hostPath: string) => void; useProcFd?: boolean } = {}) {
    const list = typeof root === "string" ? [root] : [...root];
    if (list.length === 0) throw new TypeError("FileSystemHooks: root must name at least one directory");
    this.roots = list.map((r, i) => {
      if (typeof r !== "string" || r === "" || r.includes("\0")) throw new TypeError(`FileSystemHooks: invalid root ${JSON.stringify(r)}`);
      let real: string;
      try {
        real = fs.realpathSync(nodePath.resolve(r));
      } catch {
        throw new TypeError(`FileSystemHooks: root ${JSON.stringify(r)} does not exist`);
      }
      if (!fs.statSync(real).isDirectory()) throw new TypeError(`FileSystemHooks: root ${JSON.stringify(r)} is not a directory`);
      return { prefix: list.length === 1 ? "" : `/root${i}`, real };
    });
    this.cwd = this.roots.length === 1 ? "/" : "/root0";
    this.procFd = testing.useProcFd !== false && detectProcFd(this.roots[0]!.real);
    this.#beforeOpen = testing.beforeOpen;
  }

  /** True for `/` when there are several roots: a virtual directory listing the roots. */
  isVirtualTop(guestPath: string): boolean {
    return this.roots.length > 1 && guestPath === "/";
  }

  /** True when the host path `real` is a root or lies below one. */
  isInside(real: string): boolean {
    return this.#rootOf(real) !== undefined;
  }

  #rootOf(real: string): Root | undefined {
    let best: Root | undefined;
    for (const root of this.roots) {
      const base = root.real.endsWith(nodePath.sep) ? root.real : root.real + nodePath.sep;
      if ((real === root.real || real.startsWith(base)) && (best === undefined || root.real.length > best.real.length)) best = root;
    }
    return best;
  }

  /** Lexical map of a guest path to a host path (no file system access). */
  #lexicalReal(guestPath: string): string | undefined {
    if (guestPath.includes("\0") || guestPath.includes("\\") || normalizeGuestPath(guestPath) !== guestPath) return undefined;
    const segs = guestPath.split("/").filter((s) => s !== "");
    let root: Root | undefined;
    if (this.roots.length === 1) root = this.roots[0];
    else {
      const first = segs.shift();
      root = this.roots.find((r) => r.prefix === `/${first}`);
    }
    return root === undefined ? undefined : nodePath.join(root.real, ...segs);
  }

  /** The guest path of a host path inside a root (the most specific root when roots nest). */
  #virtualOf(real: string): string | undefined {
    const root = this.#rootOf(real);
    if (root === undefined) return undefined;
    const rel = nodePath.relative(root.real, real).split(nodePath.sep).filter((s) => s !== "");
    const path = `${root.prefix}/${rel.join("/")}`;
    return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  }

  /**
   * Resolve symlinks in a guest path. Returns the host path and the canonical
   * guest path, or `undefined` if it does not exist or resolves outside every root.
   */
  locate(guestPath: string): { real: string; virtual: string } | undefined {
    const lexical = this.#lexicalReal(guestPath);
    if (lexical === undefined) return undefined;
    let real: string;
    try {
      real = fs.realpathSync(lexical);
    } catch {
      return undefined;
    }
    const virtual = this.#virtualOf(real);
    return virtual === undefined ? undefined : { real, virtual };
  }

  /** True when something (even a dangling or escaping symlink) exists at the lexical path. */
  existsLexically(guestPath: string): boolean {
    const lexical = this.#lexicalReal(guestPath);
    if (lexical === undefined) return false;
    try {
      fs.lstatSync(lexical);
      return true;
    } catch {
      return false;
    }
  }

  /** `file`, `directory`, or `undefined` (missing, outside, or another kind). For resolution only. */
  kind(guestPath: string): "file" | "directory" | undefined {
    if (this.isVirtualTop(guestPath)) return "directory";
    const loc = this.locate(guestPath);
    if (loc === undefined) return undefined;
    try {
      const st = fs.statSync(loc.real);
      return st.isFile() ? "file" : st.isDirectory() ? "directory" : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * True when the open descriptor `fd` refers to a file inside a root.
   * Linux: its `/proc/self/fd` path. Elsewhere: same (dev, ino) as `expectedReal`
   * re-resolved now, which must itself be inside a root.
   */
  #verifyFd(fd: number, expectedReal: string): boolean {
    if (this.procFd) {
      try {
        return this.isInside(fs.readlinkSync(`/proc/self/fd/${fd}`));
      } catch {
        return false;
      }
    }
    try {
      const opened = fs.fstatSync(fd);
      const real = fs.realpathSync(expectedReal);
      if (!this.isInside(real)) return false;
      const now = fs.statSync(real);
      return opened.dev === now.dev && opened.ino === now.ino;
    } catch {
      return false;
    }
  }

  /** Open `real` (checked path of `guestPath`) and verify the descriptor, or throw. */
  #openVerified(guestPath: string, real: string, flags: number, syscall: string): number {
    let fd: number;
    try {
      fd = fs.openSync(real, flags);
    } catch (e) {
      throw toGuestFsError(e, syscall, guestPath);
    }
    if (!this.#verifyFd(fd, real)) {
      fs.closeSync(fd);
      throw escapeError(guestPath);
    }
    return fd;
  }

  /** Read a whole regular file, at most `maxBytes`. */
  readFile(guestPath: string, maxBytes: number): Buffer {
    const loc = this.locate(guestPath);
    if (loc === undefined) throw this.existsLexically(guestPath) ? escapeError(guestPath) : guestFsError("ENOENT", "open", guestPath);
    this.#beforeOpen?.(loc.real);
    const fd = this.#openVerified(guestPath, loc.real, C.O_RDONLY | O_NOFOLLOW | O_NONBLOCK, "open");
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw guestFsError("EISDIR", "read", guestPath);
      if (!st.isFile()) throw guestFsError("EINVAL", "read", guestPath);
      if (st.size > maxBytes) throw guestFsError("EFBIG", "read", guestPath);
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const chunk = Buffer.allocUnsafe(Math.min(Math.max(st.size - total + 1, 1 << 16), 1 << 20, maxBytes - total + 1));
        const n = fs.readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        total += n;
        if (total > maxBytes) throw guestFsError("EFBIG", "read", guestPath); // grew after fstat
        chunks.push(chunk.subarray(0, n));
      }
      return Buffer.concat(chunks, total);
    } catch (e) {
      throw toGuestFsError(e, "read", guestPath);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Names in a directory. */
  readdir(guestPath: string): string[] {
    if (this.isVirtualTop(guestPath)) return this.roots.map((r) => r.prefix.slice(1));
    const loc = this.locate(guestPath);
    if (loc === undefined) throw guestFsError("ENOENT", "scandir", guestPath);
    const fd = this.#openVerified(guestPath, loc.real, C.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK, "scandir");
    try {
      if (!fs.fstatSync(fd).isDirectory()) throw guestFsError("ENOTDIR", "scandir", guestPath);
      // Through the descriptor on Linux: the directory we verified, not whatever the path names now.
      return fs.readdirSync(this.procFd ? `/proc/self/fd/${fd}` : loc.real).sort();
    } catch (e) {
      throw toGuestFsError(e, "scandir", guestPath);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Kind, size and mtime, or `undefined` when missing or outside. */
  stat(guestPath: string): { kind: "file" | "directory"; size: number; mtimeMs: number } | undefined {
    if (this.isVirtualTop(guestPath)) return { kind: "directory", size: 0, mtimeMs: 0 };
    const loc = this.locate(guestPath);
    if (loc === undefined) return undefined;
    let st: fs.Stats;
    try {
      const fd = this.#openVerified(guestPath, loc.real, C.O_RDONLY | O_NOFOLLOW | O_NONBLOCK, "stat");
      try {
        st = fs.fstatSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      // Unreadable (EACCES) only: metadata of the checked path is still safe to give.
      if ((e as { code?: unknown }).code !== "EACCES") return undefined;
      try {
        st = fs.statSync(loc.real);
      } catch {
        return undefined;
      }
    }
    return { kind: st.isDirectory() ? "directory" : "file", size: st.isDirectory() ? 0 : st.size, mtimeMs: st.mtimeMs };
  }

  /**
   * Run `op` on `guestPath`'s last component through its verified parent
   * directory (see the module comment). `target` is the host path to act on.
   */
  #inParent<T>(guestPath: string, syscall: string, op: (target: string) => T): T {
    const name = guestBasename(guestPath);
    const parentPath = guestDirname(guestPath);
    if (name === "" || this.isVirtualTop(parentPath)) throw guestFsError("EACCES", syscall, guestPath);
    const parent = this.locate(parentPath);
    if (parent === undefined) throw guestFsError("ENOENT", syscall, guestPath);
    this.#beforeOpen?.(parent.real);
    const dfd = this.#openVerified(guestPath, parent.real, C.O_RDONLY | O_DIRECTORY | O_NOFOLLOW, syscall);
    try {
      return op(this.procFd ? `/proc/self/fd/${dfd}/${name}` : nodePath.join(parent.real, name));
    } catch (e) {
      throw toGuestFsError(e, syscall, guestPath);
    } finally {
      fs.closeSync(dfd);
    }
  }

  /** Create, truncate or append to a regular file. Never follows a symlink at the target. */
  writeFile(guestPath: string, data: Uint8Array, append: boolean): void {
    this.#inParent(guestPath, "open", (target) => {
      // No O_TRUNC: truncation happens only after the descriptor is verified.
      const fd = fs.openSync(target, C.O_WRONLY | C.O_CREAT | O_NOFOLLOW | O_NONBLOCK | (append ? C.O_APPEND : 0), 0o666);
      try {
        if (!this.procFd && !this.#verifyFd(fd, target)) throw escapeError(guestPath);
        if (!fs.fstatSync(fd).isFile()) throw guestFsError("EINVAL", "open", guestPath);
        if (!append) fs.ftruncateSync(fd, 0);
        for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off, append ? null : off);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  /** Create one directory (the parent must exist). */
  mkdir(guestPath: string): void {
    this.#inParent(guestPath, "mkdir", (target) => fs.mkdirSync(target));
  }

  /** Remove a file (a symlink is removed itself, never its target). */
  unlink(guestPath: string): void {
    this.#inParent(guestPath, "unlink", (target) => fs.unlinkSync(target));
  }
}
