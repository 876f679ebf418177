/**
 * A reader that stops early (`rexec run x.js | head`) closes the pipe. Node
 * then fails the next write with EPIPE, destroys the stream at once and emits
 * 'error' on a later tick — an event nobody handles, which killed the process
 * with Node's internal stack; and a guest in a busy loop went on writing
 * into the dead stream until a limit ended it with a limit error.
 *
 * Like `node` (whose console ignores a closed stdout) and like any Unix
 * filter, rexec ends quietly instead: nobody reads what the guest would still
 * write. The exit status is the one already set (0 by default), the guest's
 * writes after the close end the process at once, and a closed stderr is
 * ignored (there is nowhere to report it).
 *
 * @packageDocumentation
 */

/** Whether `stream` was closed by its reader (a write failed with EPIPE). */
function closedByReader(stream: NodeJS.WriteStream): boolean {
  const errored = (stream as { errored?: unknown }).errored as { code?: unknown } | null | undefined;
  return errored?.code === "EPIPE";
}

function endQuietly(): never {
  process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
}

let guarded = false;

/** Handle a closed stdout/stderr for the whole process (the REPL, printed values, reports). */
export function guardClosedPipes(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") endQuietly();
    process.stderr.write(`rexec: cannot write to stdout: ${error.code ?? error.message}\n`);
    process.exit(70);
  });
  process.stderr.on("error", () => {});
}

/** The guest's stdout: the process's, ending the process once its reader has gone. */
export function guestStdout(text: string): void {
  if (closedByReader(process.stdout)) endQuietly();
  process.stdout.write(text);
}

/** The guest's stderr: the process's, dropping text once its reader has gone. */
export function guestStderr(text: string): void {
  if (process.stderr.destroyed || (process.stderr as { errored?: unknown }).errored) return;
  process.stderr.write(text);
}

/**
 * Wait until what is queued for stdout is written (or its reader is found
 * gone, which ends the process quietly). Before an error report: a guest
 * that wrote more than the pipe holds in one synchronous run learns of the
 * closed pipe only once the event loop turns, and its limit error is no news
 * to a reader that left.
 */
export function flushStdout(): Promise<void> {
  if (process.stdout.writableLength === 0 || closedByReader(process.stdout) || process.stdout.destroyed) return Promise.resolve();
  return new Promise((resolve) => process.stdout.write("", () => resolve()));
}
