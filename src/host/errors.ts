/**
 * The typed errors of rexec's public API.
 *
 * Every error a host sees from a sandbox is one of these classes (or a plain
 * `TypeError`/`RangeError` for a bad argument passed by the host itself). None
 * of them ever holds a guest object: guest data arrives as copied strings.
 *
 * @packageDocumentation
 */

/**
 * Guest-chosen text inside a host error (a specifier, a path) is cut to this
 * many characters: the host keeps errors, and a guest can make many of them.
 */
const MAX_GUEST_TEXT = 1024;

function clipGuestText(text: string): string {
  return text.length > MAX_GUEST_TEXT ? `${text.slice(0, MAX_GUEST_TEXT)}… (${text.length} characters)` : text;
}

/** Base class of every rexec error, so a host can catch them all at once. */
export class RExecError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One frame of a guest stack: a guest file (or `<eval>`), line and column. */
export interface GuestFrame {
  /** Function name as the guest engine reported it, or `undefined` for top level. */
  readonly functionName: string | undefined;
  /** Guest file name: the filename passed to the call, a module id, or `<eval>`. */
  readonly fileName: string;
  readonly line: number;
  readonly column: number;
}

/**
 * The guest threw. `guestName`, `message` and `stack` are copies of the guest
 * error's fields; the stack names guest files and lines only, never host paths.
 */
export class GuestError extends RExecError {
  /** The guest error's `name` (e.g. `"TypeError"`), or `"Error"` if it had none. */
  readonly guestName: string;
  /** The guest stack as text, one `    at fn (file:line:col)` line per frame. */
  readonly guestStack: string;
  /** Parsed guest frames, outermost last. */
  readonly frames: readonly GuestFrame[];
  /**
   * The thrown value itself when the guest threw a non-Error (e.g. `throw 42`),
   * copied out; otherwise `undefined`.
   */
  readonly thrown: unknown;
  /** @internal Set when the thrown value could not be read (used to classify limit hits). */
  unreadable = false;

  constructor(guestName: string, message: string, guestStack: string, frames: readonly GuestFrame[], thrown?: unknown) {
    super(message);
    this.guestName = guestName;
    this.guestStack = guestStack;
    this.frames = frames;
    this.thrown = thrown;
    // The stack a host prints should show where the *guest* failed; host frames
    // are of no use to the person debugging the guest script.
    this.stack = `GuestError: ${guestName}: ${message}\n${guestStack}`;
  }
}

/** Base of the four limit errors; `limit` names the option and `value` its setting. */
export class LimitError extends RExecError {
  constructor(
    /** The option that was exceeded, e.g. `"timeoutMs"`. */
    readonly limit: string,
    /** The configured value of that option. */
    readonly value: number,
    message: string,
  ) {
    super(message);
  }
}

/** The guest used more CPU time than `limits.timeoutMs` in one call. */
export class TimeoutError extends LimitError {
  constructor(value: number, detail = "", limit: "timeoutMs" | "wallTimeMs" = "timeoutMs") {
    super(limit, value, limit === "timeoutMs"
      ? `guest code ran longer than limits.timeoutMs (${value} ms)${detail}; raise limits.timeoutMs to allow longer runs`
      : `the call took longer than limits.wallTimeMs (${value} ms)${detail}; raise limits.wallTimeMs to wait longer`);
  }
}

/** The guest heap reached `limits.memoryBytes` (or a result exceeded `limits.resultBytes`). */
export class MemoryLimitError extends LimitError {
  constructor(limit: "memoryBytes" | "resultBytes", value: number, detail = "") {
    super(limit, value, limit === "memoryBytes"
      ? `guest ran out of memory: limits.memoryBytes is ${value} bytes${detail}; raise limits.memoryBytes to allow more`
      : `result copied out of the guest is larger than limits.resultBytes (${value} bytes)${detail}; return less data or raise limits.resultBytes`);
  }
}

/** Guest recursion (or deeply nested source/data) exceeded `limits.stackBytes`. */
export class StackLimitError extends LimitError {
  constructor(value: number, detail = "") {
    super("stackBytes", value, `guest stack overflowed: limits.stackBytes is ${value} bytes${detail}; reduce recursion depth or raise limits.stackBytes`);
  }
}

/** The guest wrote more than `limits.outputBytes` to its console/stdout/stderr. */
export class OutputLimitError extends LimitError {
  constructor(value: number) {
    super("outputBytes", value, `guest output exceeded limits.outputBytes (${value} bytes); raise limits.outputBytes to allow more`);
  }
}

/**
 * The guest asked for something the policy denies. `denied` says what, `allowWith`
 * says how a host could allow it (an option, a subclass override or a CLI flag).
 */
export class RestrictedError extends RExecError {
  /** What was denied, e.g. `module "child_process"` or `write to /etc/passwd` (guest-chosen parts cut to 1024 characters). */
  readonly denied: string;
  /** How a host could allow it, e.g. `add "child_process" to okBuiltinModules`. */
  readonly allowWith: string;

  constructor(
    denied: string,
    allowWith: string,
    /** The CLI flag that would allow it, when there is one. */
    readonly flag?: string,
  ) {
    super(`access denied: ${clipGuestText(denied)}; to allow it, ${clipGuestText(allowWith)}${flag ? ` (CLI: ${flag})` : ""}`);
    this.denied = clipGuestText(denied);
    this.allowWith = clipGuestText(allowWith);
  }

  /** Where in the guest the denied request was made, when it came from guest code. */
  frames: readonly GuestFrame[] = [];
}

/** A module specifier could not be resolved (distinct from a policy denial). */
export class ModuleNotFoundError extends RExecError {
  /** The specifier that was not found (cut to 1024 characters: it is guest-chosen). */
  readonly specifier: string;
  /** The importing module's id, if any (cut the same way). */
  readonly referrer: string | undefined;

  constructor(specifier: string, referrer: string | undefined) {
    super(`cannot find module "${clipGuestText(specifier)}"${referrer ? ` imported from ${clipGuestText(referrer)}` : ""}`);
    this.specifier = clipGuestText(specifier);
    this.referrer = referrer === undefined ? undefined : clipGuestText(referrer);
  }

  /** Where in the guest the import was made, when it came from guest code. */
  frames: readonly GuestFrame[] = [];
}

/** The guest called `exit(code)` or `process.exit(code)`. Catch it; the host never exits. */
export class SystemExit extends RExecError {
  constructor(readonly code: number) {
    super(`guest called exit(${code})`);
  }
}

/** The sandbox was disposed (by the host, or after a failure that left the engine unusable). */
export class DisposedError extends RExecError {
  constructor(readonly reason: string) {
    super(`this RExec has been disposed (${reason}); create a new RExec`);
  }
}

/** A value could not be copied across the boundary (a symbol, a WeakMap, a host object…). */
export class CloneError extends RExecError {}

/**
 * The call was cancelled through its `AbortSignal` (`options.signal`): the
 * guest was stopped at its next poll, or never started. `cause` is the
 * signal's `reason`, untouched (never stringified: it may be anything).
 * The sandbox stays usable unless the message says it was disposed.
 */
export class AbortError extends RExecError {
  /** Node's code for aborted operations. */
  readonly code = "ABORT_ERR";
  constructor(cause: unknown, detail = "") {
    super(`the call was aborted${detail}`, { cause });
  }
}
