/**
 * Guest stack traces: parse QuickJS's `    at fn (file:line:col)` lines into
 * frames, and print frames back. A guest can put any text in `error.stack`, so
 * the host keeps only well-formed frames (bounded in number and length) and
 * rebuilds the text from them: what a host prints is always frames that name
 * guest files, in a fixed shape.
 *
 * @packageDocumentation
 */
import type { GuestFrame } from "../host/errors.js";

const MAX_FRAMES = 64;
const MAX_NAME = 200;
// QuickJS: "    at name (file:line:col)" or "    at file:line:col"; "(native)" frames have no position.
const FRAME = /^\s*at (?:(.*?) \((.*):(\d+):(\d+)\)|(.*):(\d+):(\d+))\s*$/;

/** Parse a guest stack into frames; unparseable lines are dropped. */
export function parseGuestStack(stack: string): GuestFrame[] {
  const frames: GuestFrame[] = [];
  for (const line of stack.slice(0, 64 * 1024).split("\n")) {
    if (frames.length >= MAX_FRAMES) break;
    const m = FRAME.exec(line);
    if (!m) continue;
    const functionName = m[1] === undefined || m[1] === "<anonymous>" ? undefined : m[1].slice(0, MAX_NAME);
    const fileName = (m[2] ?? m[5] ?? "").slice(0, MAX_NAME);
    // rexec's own guest-side code (kernel, prelude, module runtime) is not the guest's concern.
    if (fileName.startsWith("<rexec:")) continue;
    frames.push({ functionName, fileName, line: Number(m[3] ?? m[6]), column: Number(m[4] ?? m[7]) });
  }
  return frames;
}

/** Print frames the way QuickJS and V8 do. */
export function formatGuestStack(frames: readonly GuestFrame[]): string {
  return frames
    .map((f) => (f.functionName ? `    at ${f.functionName} (${f.fileName}:${f.line}:${f.column})` : `    at ${f.fileName}:${f.line}:${f.column}`))
    .join("\n");
}
