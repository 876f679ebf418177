/**
 * Deno-style path permissions: which host paths a guest may read or write,
 * given as the paths themselves (`--allow-read=./data`), with denials that win
 * over grants (`--deny-read=./data/secret`).
 *
 * Invariant: a path is allowed for a mode only when it lies at or below a grant
 * for that mode and at or below no denial for it. Grants and denials are
 * absolute and symlink-free (resolved when the grants are made), and callers
 * ask about canonical (symlink-free) paths, so a symlink never carries a path
 * across a grant's edge. Every refusal names the exact flag and path that would
 * allow it, or the denial that forbids it.
 *
 * @packageDocumentation
 */

import * as fs from "node:fs";
import * as nodePath from "node:path";
import { RestrictedError } from "../../host/errors.js";

/** `true` grants every path; a list grants those paths and everything below them. */
export type PathGrant = true | readonly string[];

/** Options of {@link PathGrants}: host paths, absolute or relative to `cwd`. */
export interface PathGrantsOptions {
  readonly read?: PathGrant;
  readonly write?: PathGrant;
  /** Denials: `true` denies everything for that mode. */
  readonly denyRead?: PathGrant;
  readonly denyWrite?: PathGrant;
  /** Directory relative grants resolve against (default `process.cwd()`). */
  readonly cwd?: string;
}

/** A grant list in canonical form. */
type Canon = true | readonly string[];

/**
 * The real path of `path`, even when it (or its tail) does not exist yet: the
 * deepest existing ancestor is realpath'd and the missing rest appended, so a
 * grant for a directory the guest will create still compares correctly.
 */
export function canonicalHostPath(path: string, cwd: string = process.cwd()): string {
  let head = nodePath.resolve(cwd, path);
  const tail: string[] = [];
  for (;;) {
    try {
      return nodePath.join(fs.realpathSync(head), ...tail.reverse());
    } catch {
      const parent = nodePath.dirname(head);
      if (parent === head) return nodePath.join(head, ...tail.reverse());
      tail.push(nodePath.basename(head));
      head = parent;
    }
  }
}

/** True when `path` is `dir` or lies below it (both absolute and normalized). */
export function isAtOrBelow(dir: string, path: string): boolean {
  if (path === dir) return true;
  return path.startsWith(dir.endsWith(nodePath.sep) ? dir : dir + nodePath.sep);
}

/** The flag words for each mode. */
const FLAGS = { r: { allow: "--allow-read", deny: "--deny-read", what: "read" }, w: { allow: "--allow-write", deny: "--deny-write", what: "write" } } as const;

/** Read and write grants over host paths, checked on canonical paths. */
export class PathGrants {
  readonly #read: Canon;
  readonly #write: Canon;
  readonly #denyRead: Canon;
  readonly #denyWrite: Canon;

  constructor(options: PathGrantsOptions = {}) {
    const cwd = options.cwd ?? process.cwd();
    const canon = (g: PathGrant | undefined): Canon => {
      if (g === true) return true;
      return (g ?? []).map((p) => {
        if (typeof p !== "string" || p === "" || p.includes("\0")) throw new TypeError(`invalid path grant ${JSON.stringify(p)}`);
        return canonicalHostPath(p, cwd);
      });
    };
    this.#read = canon(options.read);
    this.#write = canon(options.write);
    this.#denyRead = canon(options.denyRead);
    this.#denyWrite = canon(options.denyWrite);
  }

  /** True when some path at all may be read or written (any grant of either mode). */
  get grantsAnything(): boolean {
    return this.#read === true || this.#write === true || this.#read.length > 0 || this.#write.length > 0;
  }

  /** True when `path` (absolute, canonical) may be accessed in mode `r` or `w`. */
  allows(path: string, mode: "r" | "w"): boolean {
    return this.#refusal(path, mode) === undefined;
  }

  /** True when `path` is granted for reading or writing (denials applied). */
  allowsAny(path: string): boolean {
    return this.allows(path, "r") || this.allows(path, "w");
  }

  /** Throw a {@link RestrictedError} naming the flag that would allow it, unless allowed. */
  check(path: string, mode: "r" | "w"): void {
    const refusal = this.#refusal(path, mode);
    if (refusal !== undefined) throw refusal;
  }

  #refusal(path: string, mode: "r" | "w"): RestrictedError | undefined {
    const f = FLAGS[mode];
    const deny = mode === "r" ? this.#denyRead : this.#denyWrite;
    const hit = deny === true ? "" : deny.find((d) => isAtOrBelow(d, path));
    if (hit !== undefined) {
      const by = hit === "" ? f.deny : `${f.deny}=${hit}`;
      return new RestrictedError(`${f.what} access to ${path} (denied by ${by})`, `rerun without ${by}`);
    }
    const grant = mode === "r" ? this.#read : this.#write;
    if (grant === true || grant.some((g) => isAtOrBelow(g, path))) return undefined;
    return new RestrictedError(`${f.what} access to ${path}`, `rerun with ${f.allow}=${path}`, `${f.allow}=${path}`);
  }
}
