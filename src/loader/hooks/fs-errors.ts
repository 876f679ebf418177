/**
 * Node-shaped file-system errors that name *guest* paths only.
 *
 * Node's own fs errors carry the host path in `message` and `path`; if one of
 * those reached the guest (through the guest's `fs` module, or a stack) it would
 * reveal where the roots live on the host. Every hooks `fs` method therefore
 * throws errors built here, from an error code and the guest path.
 *
 * @packageDocumentation
 */

import { RExecError } from "../../host/errors.js";

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  EEXIST: "file already exists",
  EISDIR: "illegal operation on a directory",
  ENOTDIR: "not a directory",
  ENOTEMPTY: "directory not empty",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ELOOP: "too many symbolic links encountered",
  EFBIG: "file too large",
  EINVAL: "invalid argument",
  EIO: "i/o error",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
};

/** An `Error` with Node's `code`/`syscall`/`path` fields, where `path` is a guest path. */
export interface GuestFsError extends Error {
  /** POSIX error code, e.g. `ENOENT`. */
  code: string;
  /** The operation, e.g. `open`. */
  syscall: string;
  /** The guest path involved. */
  path: string;
}

/**
 * Build an error such as `ENOENT: no such file or directory, open '/a.txt'`.
 *
 * @param code - POSIX error code.
 * @param syscall - the operation that failed.
 * @param guestPath - the path as the guest sees it (never a host path).
 * @param detail - why, in words a guest may read (appended in parentheses); e.g. which option ran out.
 */
export function guestFsError(code: string, syscall: string, guestPath: string, detail?: string): GuestFsError {
  const suffix = detail === undefined ? "" : ` (${detail})`;
  const err = new Error(`${code}: ${DESCRIPTIONS[code] ?? "file system error"}, ${syscall} '${guestPath}'${suffix}`) as GuestFsError;
  err.code = code;
  err.syscall = syscall;
  err.path = guestPath;
  return err;
}

/**
 * Convert a host error into a {@link guestFsError}, dropping the host message
 * (it may contain the host path). rexec's own errors (e.g. `RestrictedError`,
 * whose messages we wrote with guest paths) pass through; anything else without
 * a POSIX code becomes `EIO`, so no unknown host message can leak.
 */
export function toGuestFsError(e: unknown, syscall: string, guestPath: string): unknown {
  if (e instanceof RExecError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  return guestFsError(typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : "EIO", syscall, guestPath);
}
