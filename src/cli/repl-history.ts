/**
 * The REPL's history file: `$REXEC_REPL_HISTORY`, else
 * `$XDG_STATE_HOME/rexec/repl_history`, else `~/.rexec_repl_history` (an empty
 * `REXEC_REPL_HISTORY` turns history off, as `NODE_REPL_HISTORY=""` does).
 * Bounded: the newest {@link MAX_HISTORY} entries of at most
 * {@link MAX_HISTORY_LINE} characters; the file is private to the user (0600),
 * a regular file opened without following a symlink (so neither a FIFO nor a
 * link planted at the path can hang the REPL or have it read or overwrite
 * another file).
 *
 * @packageDocumentation
 */
import { closeSync, constants, fchmodSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** Entries kept. */
export const MAX_HISTORY = 1000;
/** Longest entry kept, in characters (a pasted blob is not worth a slow start-up). */
export const MAX_HISTORY_LINE = 4096;
const MAX_FILE_BYTES = MAX_HISTORY * (MAX_HISTORY_LINE + 1);

/** The history file's path, or undefined when history is off. */
export function historyFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const own = env.REXEC_REPL_HISTORY;
  if (own !== undefined) return own.trim() === "" ? undefined : own;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, "rexec", "repl_history");
  return join(homedir(), ".rexec_repl_history");
}

/** Entries, newest first (readline's order); empty when the file is missing or unreadable. */
export function loadHistory(path: string): string[] {
  let fd: number | undefined;
  try {
    // Not through a symlink (it could name any file), and a FIFO or device must not block start-up.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return [];
    const buffer = Buffer.alloc(MAX_FILE_BYTES);
    const n = readSync(fd, buffer, 0, MAX_FILE_BYTES, 0);
    return buffer.toString("utf8", 0, n).split("\n").filter((l) => l !== "" && l.length <= MAX_HISTORY_LINE).reverse().slice(0, MAX_HISTORY);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write `entries` (newest first), oldest line first in the file. Failure is silent: history is a nicety. */
export function saveHistory(path: string, entries: readonly string[]): void {
  try {
    const kept = entries.filter((l) => l !== "" && l.length <= MAX_HISTORY_LINE && !l.includes("\n")).slice(0, MAX_HISTORY);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // The mode of open() applies only to a new file: one that exists (say 0644) is made private too.
    // As loading: never through a symlink (which would overwrite its target), never into a FIFO.
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
    try {
      if (!fstatSync(fd).isFile()) return;
      ftruncateSync(fd, 0);
      fchmodSync(fd, 0o600);
      writeFileSync(fd, kept.length ? `${[...kept].reverse().join("\n")}\n` : "");
    } finally {
      closeSync(fd);
    }
  } catch {
    // unwritable home: the session still worked
  }
}
