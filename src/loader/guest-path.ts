/**
 * Guest-visible paths: the only path syntax the loader and the hooks accept
 * from a guest.
 *
 * A guest path is POSIX-style and absolute in the guest's own view (`/` is the
 * top of what the hooks expose, never the host's `/`). Every specifier or file
 * name that comes from a guest is checked here *before* anything else looks at
 * it, so that the later steps (joining with a host root, asking the OS) only
 * ever see names that cannot escape.
 *
 * @packageDocumentation
 */

import { RestrictedError } from "../host/errors.js";

/** Longest specifier or path accepted from a guest (Linux's PATH_MAX). */
export const MAX_GUEST_NAME = 4096;

/**
 * Throw {@link RestrictedError} when a guest-supplied name holds a character that
 * could change its meaning once it reaches the host:
 *
 * - `\0`: C APIs cut strings at NUL, so `"a.js\0../../x"` could be checked as one
 *   name and opened as another. Rejected before any other processing.
 * - `\`: a path separator on Windows hosts. A guest on a POSIX host could still
 *   smuggle `..\\..\\x` through a check that only splits on `/`, so we refuse the
 *   character everywhere rather than treat it differently per platform.
 *
 * @param name - the specifier or path as the guest wrote it.
 * @param what - how to name it in the error, e.g. `module specifier`.
 */
export function assertSafeName(name: string, what: string): void {
  if (typeof name !== "string") throw new TypeError(`${what} must be a string`);
  // Every later step (normalising, joining with a root, asking the OS) costs
  // host time in the name's length and segment count, uncharged to the guest:
  // a million-segment path overflowed the host stack in path.join. POSIX's own
  // limit is the natural bound.
  if (name.length > MAX_GUEST_NAME) {
    throw new RestrictedError(`${what} of ${name.length} characters (ENAMETOOLONG: longer than ${MAX_GUEST_NAME}, the POSIX PATH_MAX)`, "use a shorter name");
  }
  if (name.includes("\0")) {
    throw new RestrictedError(`${what} ${JSON.stringify(name)} (contains a NUL byte)`, "remove the NUL byte from the name");
  }
  if (name.includes("\\")) {
    throw new RestrictedError(`${what} ${JSON.stringify(name)} (contains a backslash)`, "use forward slashes (/) in guest paths");
  }
}

/**
 * True when `specifier` looks like a URL with a scheme (`file:`, `http:`,
 * `data:`, a Windows drive `C:`…). Package names cannot contain `:`, so a colon
 * before the first `/` always means "URL", never "bare package".
 */
export function hasUrlScheme(specifier: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(specifier);
}

/** True for specifiers Node treats as paths: `/x`, `./x`, `../x`, `.` and `..`. */
export function isPathSpecifier(specifier: string): boolean {
  return specifier.startsWith("/") || specifier.startsWith("./") || specifier.startsWith("../") || specifier === "." || specifier === "..";
}

/**
 * Normalize an absolute guest path: collapse `//` and `.`, apply `..`.
 * Returns `undefined` when `..` would climb above the guest's `/` — the caller
 * decides whether that is "not found" or a {@link RestrictedError}. Plain string
 * work: percent-escapes such as `%2e%2e` are *not* decoded, so they stay literal
 * file-name characters and can never act as `..`.
 *
 * @param path - must start with `/`.
 */
export function normalizeGuestPath(path: string): string | undefined {
  if (!path.startsWith("/")) return undefined;
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return "/" + out.join("/");
}

/**
 * Join `path` (absolute, or relative to `baseDir`) and normalize it; `undefined`
 * when the result would lie above the guest's `/`.
 */
export function resolveGuestPath(baseDir: string, path: string): string | undefined {
  return normalizeGuestPath(path.startsWith("/") ? path : `${baseDir}/${path}`);
}

/** The directory part of a normalized guest path (`/a/b.js` → `/a`, `/a` → `/`). */
export function guestDirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** The last segment of a normalized guest path (`/a/b.js` → `b.js`, `/` → ``). */
export function guestBasename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Join a normalized guest directory and a single segment. */
export function guestJoin(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/** The extension of a guest path's last segment including the dot (`.ts`), or ``. */
export function guestExtname(path: string): string {
  const base = guestBasename(path);
  const i = base.lastIndexOf(".");
  return i <= 0 ? "" : base.slice(i);
}
