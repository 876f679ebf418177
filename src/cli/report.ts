/**
 * How `rexec` reports a failed run: exit codes per failure kind, and error
 * messages that point at the guest file, line and column with the source line
 * and a caret — guest frames only, never host ones.
 *
 * Invariant: a report costs the host bounded, linear work whatever the guest
 * put in it. Messages, thrown values and stacks are guest-chosen text, and a
 * guest can forge a frame that points at any file inside the roots (even one
 * it wrote): thrown values go through the bounded printer (never JSON.stringify,
 * which would call a guest `toJSON`), source files are read only up to
 * {@link MAX_SOURCE_BYTES}, the line for a caret is found by one scan, and the
 * whole report is cut to {@link MAX_REPORT_BYTES}. Guest-chosen text that the
 * report shows as one line (error names, stack lines, denied paths, module
 * names) has its control characters escaped, so it cannot pose as another line.
 *
 * @packageDocumentation
 */
import { closeSync, fstatSync, openSync, readSync, constants as fsConstants } from "node:fs";
import {
  CloneError,
  DisposedError,
  GuestError,
  LimitError,
  ModuleNotFoundError,
  RestrictedError,
  SystemExit,
  type GuestFrame,
} from "../host/errors.js";
import { KNOWN_MODULES, UsageError } from "./options.js";
import { cutBytes, printThrown, printValue } from "./print.js";
import { escapeLogLine as oneLine } from "../host/verbose.js";

/** Bytes of a guest source file read to show a code frame; bigger files show `file:line:col` only. */
export const MAX_SOURCE_BYTES = 4 * 1024 * 1024;
/** Bytes of one error report. */
export const MAX_REPORT_BYTES = 256 * 1024;

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
  // Each file is looked up once per report, however many frames name it.
  const seen = new Map<string, string | undefined>();
  const lookup: SourceLookup = (fileName) => {
    if (!seen.has(fileName)) seen.set(fileName, sources(fileName));
    return seen.get(fileName);
  };
  const text = cutBytes(formatUncut(error, lookup, options), MAX_REPORT_BYTES - 100);
  return text.endsWith("\n") ? text : `${text}\n`;
}

function formatUncut(error: unknown, sources: SourceLookup, options: { uncaught?: boolean }): string {
  const prefix = options.uncaught ? "Uncaught " : "";
  if (error instanceof GuestError) {
    const out: string[] = [];
    const frame = error.frames.find((f) => sources(f.fileName) !== undefined) ?? error.frames[0];
    if (frame) {
      const where = codeFrame(frame, sources);
      if (where) out.push(where, "");
    }
    const head = error.thrown !== undefined && error.message.includes("non-Error value")
      ? `${prefix}${printThrown(error.thrown)}`
      : `${prefix}${oneLine(error.guestName)}: ${cutBytes(error.message, 64 * 1024)}`;
    out.push(head);
    const stack = guestStack(error);
    if (stack) out.push(stack);
    return `${out.join("\n")}\n`;
  }
  if (error instanceof RestrictedError) {
    const how = allowHint(error);
    return `${prefix}RestrictedError: access denied: ${oneLine(error.denied)}\n    to allow it: ${how}\n`;
  }
  if (error instanceof LimitError) {
    const flag = LIMIT_FLAGS[error.limit];
    return `${prefix}${error.name}: ${error.message}${flag ? `\n    to allow more: rerun with ${flag}` : ""}\n`;
  }
  if (error instanceof ModuleNotFoundError) return `${prefix}ModuleNotFoundError: ${oneLine(error.message)}\n`;
  if (error instanceof UsageError) return `rexec: ${error.message}\nRun "rexec --help" for usage.\n`;
  if (error instanceof SystemExit || error instanceof CloneError || error instanceof DisposedError) return `${prefix}${error.name}: ${error.message}\n`;
  // Not String(error): a value that is not an Error could carry guest functions under toString.
  return `rexec: internal error: ${error instanceof Error ? error.stack ?? error.message : printValue(error, { maxBytes: 4096 })}\n`;
}

/**
 * How to allow a refused request. The library suggests `--allow-module <name>`
 * for any module; the CLI knows which names that flag accepts, and does not
 * offer a flag that would only be a usage error.
 */
function allowHint(error: RestrictedError): string {
  const module = /^--allow-module (.*)$/s.exec(error.flag ?? "");
  if (module && !KNOWN_MODULES.includes(module[1]!.replace(/^node:/, ""))) {
    return `no flag allows it: the sandbox has no "${oneLine(module[1]!)}" module (available: ${KNOWN_MODULES.join(", ")})`;
  }
  return error.flag ? `rerun with ${oneLine(error.flag)}` : oneLine(error.allowWith);
}

/** The guest stack lines, without host or rexec-internal frames. */
function guestStack(error: GuestError): string {
  return error.guestStack
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.includes("<rexec:"))
    .map(oneLine)
    .join("\n");
}

/** `file:line:col`, the source line and a caret under the column. */
function codeFrame(frame: GuestFrame, sources: SourceLookup): string | undefined {
  const header = oneLine(`${frame.fileName}:${frame.line}:${frame.column}`);
  const text = sources(frame.fileName);
  if (text === undefined) return header;
  const line = lineAt(text, frame.line);
  if (line === undefined) return header;
  const shown = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  const col = frame.column - 1;
  if (col < 0 || col > line.length || col > 200) return `${header}\n${shown}`;
  // Keep tabs so the caret lines up under tab-indented code.
  const pad = line.slice(0, col).replace(/[^\t]/g, " ");
  return `${header}\n${shown}\n${pad}^`;
}

/** Line `n` (1-based) of `text` without its `\r\n`/`\n`, found by one forward scan. */
export function lineAt(text: string, n: number): string | undefined {
  if (!Number.isSafeInteger(n) || n < 1) return undefined;
  let start = 0;
  for (let i = 1; i < n; i++) {
    const next = text.indexOf("\n", start);
    if (next < 0) return undefined;
    start = next + 1;
  }
  let end = text.indexOf("\n", start);
  if (end < 0) end = text.length;
  if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
  return text.slice(start, end);
}

/** Read a host file's text (at most {@link MAX_SOURCE_BYTES}), or undefined. */
export function readText(hostPath: string | undefined): string | undefined {
  if (hostPath === undefined) return undefined;
  let fd: number | undefined;
  try {
    // Non-blocking and no symlink: a guest can forge a frame naming any path in the
    // roots, including a FIFO, whose blocking open would hang the CLI for good.
    fd = openSync(hostPath, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size >= MAX_SOURCE_BYTES) return undefined;
    const buffer = Buffer.alloc(MAX_SOURCE_BYTES);
    const read = readSync(fd, buffer, 0, MAX_SOURCE_BYTES, 0);
    // A file that fills the buffer may be longer: showing a wrong or partial line is worse than none.
    if (read === MAX_SOURCE_BYTES) return undefined;
    return buffer.toString("utf8", 0, read);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A guest exit code as a process exit status: wrapped to 0–255, as POSIX does. */
export function processExitCode(code: number): number {
  return ((code % 256) + 256) % 256;
}
