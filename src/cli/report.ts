/**
 * How `rexec` reports a failed run: exit codes per failure kind, and error
 * messages that point at the guest file, line and column with the source line
 * and a caret — guest frames only, never host ones.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import {
  CloneError,
  DisposedError,
  GuestError,
  LimitError,
  ModuleNotFoundError,
  RestrictedError,
  SystemExit,
  type GuestFrame,
} from "../index.js";
import { UsageError } from "./options.js";

/** Exit codes of `rexec` (a guest's own `exit(code)` is passed through unchanged). */
export const EXIT = {
  OK: 0,
  GUEST_ERROR: 1,
  USAGE: 2,
  TIMEOUT: 3,
  MEMORY: 4,
  STACK: 5,
  OUTPUT: 6,
  RESTRICTED: 7,
  NOT_FOUND: 8,
  INTERNAL: 70,
} as const;

/** The CLI flag that raises each limit. */
const LIMIT_FLAGS: Record<string, string> = {
  timeoutMs: "--timeout <duration>",
  memoryBytes: "--memory <size>",
  resultBytes: "--memory <size>",
  stackBytes: "--stack <size>",
  outputBytes: "--max-output <size>",
};

/** Where source lines of guest files come from (only files inside the roots). */
export interface SourceLookup {
  /** Source text of a guest file name, or undefined when it cannot be shown. */
  (fileName: string): string | undefined;
}

/** The exit code for an error thrown by an RExec call. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof SystemExit) return processExitCode(error.code);
  if (error instanceof UsageError) return EXIT.USAGE;
  if (error instanceof LimitError) {
    switch (error.limit) {
      case "timeoutMs": return EXIT.TIMEOUT;
      case "memoryBytes": case "resultBytes": return EXIT.MEMORY;
      case "stackBytes": return EXIT.STACK;
      case "outputBytes": return EXIT.OUTPUT;
    }
    return EXIT.GUEST_ERROR;
  }
  if (error instanceof RestrictedError) return EXIT.RESTRICTED;
  if (error instanceof ModuleNotFoundError) return EXIT.NOT_FOUND;
  if (error instanceof GuestError || error instanceof CloneError || error instanceof DisposedError) return EXIT.GUEST_ERROR;
  return EXIT.INTERNAL;
}

/** The text `rexec` prints on stderr for an error (ending in a newline). */
export function formatError(error: unknown, sources: SourceLookup, options: { uncaught?: boolean } = {}): string {
  const prefix = options.uncaught ? "Uncaught " : "";
  if (error instanceof GuestError) {
    const out: string[] = [];
    const frame = error.frames.find((f) => sources(f.fileName) !== undefined) ?? error.frames[0];
    if (frame) {
      const where = codeFrame(frame, sources);
      if (where) out.push(where, "");
    }
    const head = error.thrown !== undefined && /non-Error value/.test(error.message)
      ? `${prefix}${formatThrown(error.thrown)}`
      : `${prefix}${error.guestName}: ${error.message}`;
    out.push(head);
    const stack = guestStack(error);
    if (stack) out.push(stack);
    return `${out.join("\n")}\n`;
  }
  if (error instanceof RestrictedError) {
    const how = error.flag ? `rerun with ${error.flag}` : error.allowWith;
    return `${prefix}RestrictedError: access denied: ${error.denied}\n    to allow it: ${how}\n`;
  }
  if (error instanceof LimitError) {
    const flag = LIMIT_FLAGS[error.limit];
    return `${prefix}${error.name}: ${error.message}${flag ? `\n    to allow more: rerun with ${flag}` : ""}\n`;
  }
  if (error instanceof ModuleNotFoundError) return `${prefix}ModuleNotFoundError: ${error.message}\n`;
  if (error instanceof UsageError) return `rexec: ${error.message}\nRun "rexec --help" for usage.\n`;
  if (error instanceof SystemExit || error instanceof CloneError || error instanceof DisposedError) return `${prefix}${error.name}: ${error.message}\n`;
  return `rexec: internal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`;
}

function formatThrown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The guest stack lines, without host or rexec-internal frames. */
function guestStack(error: GuestError): string {
  return error.guestStack
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.includes("<rexec:"))
    .join("\n");
}

/** `file:line:col`, the source line and a caret under the column. */
function codeFrame(frame: GuestFrame, sources: SourceLookup): string | undefined {
  const header = `${frame.fileName}:${frame.line}:${frame.column}`;
  const text = sources(frame.fileName);
  if (text === undefined) return header;
  const line = text.split(/\r?\n/)[frame.line - 1];
  if (line === undefined) return header;
  const shown = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  const col = frame.column - 1;
  if (col < 0 || col > line.length || col > 200) return `${header}\n${shown}`;
  // Keep tabs so the caret lines up under tab-indented code.
  const pad = line.slice(0, col).replace(/[^\t]/g, " ");
  return `${header}\n${shown}\n${pad}^`;
}

/** Read a host file's text, or undefined. */
export function readText(hostPath: string | undefined): string | undefined {
  if (hostPath === undefined) return undefined;
  try {
    return readFileSync(hostPath, "utf8");
  } catch {
    return undefined;
  }
}

/** A guest exit code as a process exit status: wrapped to 0–255, as POSIX does. */
export function processExitCode(code: number): number {
  return ((code % 256) + 256) % 256;
}
