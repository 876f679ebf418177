/**
 * The command line's path grants: {@link PathGrants} (Deno's `--allow-read`/
 * `--allow-write`/`--deny-*`) plus one rule of Deno's own.
 *
 * Invariant: without `-A`, no grant — not even a bare `--allow-read` or
 * `--allow-write` — reaches a process's entries under /proc (its environment,
 * memory, open files): they would read the host's environment past
 * `--allow-env`/`--deny-env`, or write the rexec process's memory.
 *
 * @packageDocumentation
 */
import { RestrictedError } from "../host/errors.js";
import { canonicalHostPath, PathGrants } from "../loader/hooks/path-grants.js";

/**
 * Process entries under /proc (a process's environment, memory, open files,
 * its cwd and root links): `/proc/<pid>/…`, `/proc/self`, `/proc/thread-self`,
 * and `/dev/fd` (a link into them). A bare `--allow-read` would otherwise read
 * this process's environment past `--allow-env`/`--deny-env`, or another
 * process's, and a bare `--allow-write` could write this process's memory.
 * As in Deno, only `-A` reaches them.
 */
const PROCESS_ENTRY = /^\/(?:proc\/(?:\d+|self|thread-self)|dev\/fd)(?:\/|$)/;

/** Is `path` (guest path = host path) a process entry, judged on the path as given and resolved? */
function processEntry(path: string): boolean {
  if (!path.startsWith("/proc") && !path.startsWith("/dev")) return false;
  return PROCESS_ENTRY.test(path) || PROCESS_ENTRY.test(canonicalHostPath(path));
}

/** {@link PathGrants} that keep process entries ({@link PROCESS_ENTRY}) for `-A`. */
export class CliGrants extends PathGrants {
  constructor(options: ConstructorParameters<typeof PathGrants>[0], private readonly allowAll: boolean) {
    super(options);
  }

  override allows(path: string, mode: "r" | "w"): boolean {
    return (this.allowAll || !processEntry(path)) && super.allows(path, mode);
  }

  override check(path: string, mode: "r" | "w"): void {
    if (!this.allowAll && processEntry(path)) {
      throw new RestrictedError(`${mode === "r" ? "read" : "write"} access to ${path} (a process's own entries: its environment, memory and open files)`, "rerun with --allow-all", "--allow-all");
    }
    super.check(path, mode);
  }
}

