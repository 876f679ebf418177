/**
 * Guest stack traces: parse QuickJS's `    at fn (file:line:col)` lines into
 * frames, and print frames back.
 *
 * Invariant: the host's work on a guest stack is linear in a bounded prefix of
 * it. A guest can put any text in `error.stack`, and this parser runs on every
 * error that crosses the boundary (results, arguments, thrown values), so it
 * must cost the host O(n) with n ≤ {@link MAX_STACK_SCAN}: no regular
 * expressions (a backtracking pattern took seconds on `"at " + " (".repeat(32000)`),
 * only `indexOf`/`charCodeAt` scans that never revisit a character more than a
 * constant number of times. The host keeps only well-formed frames (bounded in
 * number and length) and rebuilds the text from them: what a host prints is
 * always frames that name guest files, in a fixed shape.
 *
 * @packageDocumentation
 */
import type { GuestFrame } from "../host/errors.js";

/** Frames kept per error; deeper stacks are cut (QuickJS itself prints far fewer). */
export const MAX_FRAMES = 64;
/** Characters kept of a function or file name. */
const MAX_NAME = 200;
/** Characters of `error.stack` looked at; the rest is ignored unread. */
export const MAX_STACK_SCAN = 64 * 1024;

/**
 * Parse a guest stack into frames; lines that are not frames are dropped.
 *
 * A frame line is `at NAME (FILE:LINE:COL)` or `at FILE:LINE:COL`, with any
 * white space around it. NAME is everything before the first `" ("`, FILE
 * everything up to the last `:LINE:COL`. (This is exactly what the earlier
 * regular expression `^\s*at (?:(.*?) \((.*):(\d+):(\d+)\)|(.*):(\d+):(\d+))\s*$`
 * accepted, computed in one pass instead of by backtracking.) `(native)`
 * frames have no position and are dropped.
 */
export function parseGuestStack(stack: string): GuestFrame[] {
  const frames: GuestFrame[] = [];
  const end = Math.min(stack.length, MAX_STACK_SCAN);
  let start = 0;
  while (start < end && frames.length < MAX_FRAMES) {
    let stop = stack.indexOf("\n", start);
    if (stop < 0 || stop > end) stop = end;
    const frame = parseFrameLine(stack.slice(start, stop));
    // rexec's own guest-side code (kernel, prelude, module runtime) is not the guest's concern.
    if (frame && !frame.fileName.startsWith("<rexec:")) frames.push(frame);
    start = stop + 1;
  }
  return frames;
}

/** One line (no `\n` in it) → a frame, or undefined. Linear in the line's length. */
function parseFrameLine(raw: string): GuestFrame | undefined {
  // `\s` in the old pattern is exactly what String#trim removes.
  const line = raw.trim();
  if (!line.startsWith("at ")) return undefined;
  const body = line.slice(3);
  // `.` never matched \r, U+2028 or U+2029: a line holding one is not a frame.
  if (body.includes("\r") || body.includes("\u2028") || body.includes("\u2029")) return undefined;
  if (body.endsWith(")")) {
    const pos = trailingPosition(body, body.length - 1);
    if (!pos) return undefined;
    const head = body.slice(0, pos.start);
    const open = head.indexOf(" (");
    if (open < 0) return undefined;
    const name = head.slice(0, open);
    return {
      functionName: name === "<anonymous>" ? undefined : name.slice(0, MAX_NAME),
      fileName: head.slice(open + 2).slice(0, MAX_NAME),
      line: pos.line,
      column: pos.column,
    };
  }
  const pos = trailingPosition(body, body.length);
  if (!pos) return undefined;
  return { functionName: undefined, fileName: body.slice(0, pos.start).slice(0, MAX_NAME), line: pos.line, column: pos.column };
}

/**
 * Read `:LINE:COL` ending just before index `end` of `text`, scanning
 * backwards over digits only. `start` is where the `:LINE:COL` begins.
 */
function trailingPosition(text: string, end: number): { start: number; line: number; column: number } | undefined {
  const colStart = digitsBefore(text, end);
  if (colStart === end || text.charCodeAt(colStart - 1) !== 0x3a /* : */) return undefined;
  const lineEnd = colStart - 1;
  const lineStart = digitsBefore(text, lineEnd);
  if (lineStart === lineEnd || text.charCodeAt(lineStart - 1) !== 0x3a) return undefined;
  return { start: lineStart - 1, line: Number(text.slice(lineStart, lineEnd)), column: Number(text.slice(colStart, end)) };
}

/** The index where the run of ASCII digits ending just before `end` starts. */
function digitsBefore(text: string, end: number): number {
  let i = end;
  while (i > 0) {
    const c = text.charCodeAt(i - 1);
    if (c < 0x30 || c > 0x39) break;
    i--;
  }
  return i;
}

/** Print frames the way QuickJS and V8 do. */
export function formatGuestStack(frames: readonly GuestFrame[]): string {
  return frames
    .slice(0, MAX_FRAMES)
    .map((f) => (f.functionName ? `    at ${f.functionName} (${f.fileName}:${f.line}:${f.column})` : `    at ${f.fileName}:${f.line}:${f.column}`))
    .join("\n");
}
