/**
 * How a Python call ended → its value or the typed error the host sees.
 *
 * Invariant: every way a call can end maps to one of rexec's error classes,
 * and every end after which the interpreter must not be used again (a hard
 * stop, a violation, a guest process exit, a fatal error, a malformed
 * answer, a limit error) retires the sandbox. Guest-derived text arrives here
 * already cut to size by the worker.
 *
 * @packageDocumentation
 */
import {
  GuestError, MemoryLimitError, OutputLimitError, RestrictedError, StackLimitError, SystemExit, TimeoutError, DisposedError,
  type GuestFrame,
} from "../host/errors.js";
import type { Limits } from "../host/limits.js";
import type { CallOutcome } from "./interpreter.js";

/** What settling needs from the sandbox. */
export interface SettleContext {
  readonly limits: Limits;
  /** The RestrictedError the host's policy raised during the call, if any. */
  readonly restricted: RestrictedError | undefined;
  /** Dispose the sandbox, saying why (later calls throw DisposedError with it). */
  retire(reason: string): void;
  log(line: string): void;
}

/** The RestrictedError for a refused open (r_open's default wording). */
export function openDenied(path: string, mode: string): RestrictedError {
  return new RestrictedError(`${mode === "r" ? "read of" : "write to"} ${path}`, "override r_open in a subclass of PythonRExec (the default allows /tmp and /home/guest)");
}

function withFrames<T extends RestrictedError>(error: T, frames: readonly { file: string; line: number; name: string }[]): T {
  error.frames = frames.map((f) => ({ functionName: f.name === "<module>" ? undefined : f.name, fileName: f.file, line: f.line, column: 0 })).reverse();
  return error;
}

/**
 * A call that ended (with a value or an exception) over its output or time
 * limit: retire the sandbox and throw that limit's error.
 */
function overLimits(outcome: { readonly outputExceeded: boolean; readonly timedOut: boolean }, limits: SettleContext["limits"], retire: (reason: string) => void): void {
  if (outcome.outputExceeded) {
    retire("the guest exceeded limits.outputBytes");
    throw new OutputLimitError(limits.outputBytes);
  }
  if (outcome.timedOut) {
    retire("the guest ran past limits.timeoutMs");
    throw new TimeoutError(limits.timeoutMs);
  }
}

/** Turn how the call ended into its value, or throw its typed error. */
export function settleOutcome(outcome: CallOutcome, context: SettleContext): unknown {
  const { limits, log } = context;
  const retire = (reason: string) => context.retire(reason);
  switch (outcome.kind) {
    case "hard-timeout":
      retire(`the guest was stopped at limits.${outcome.limit}`);
      throw new TimeoutError(outcome.limit === "timeoutMs" ? limits.timeoutMs : limits.wallTimeMs, "; the interpreter was stopped", outcome.limit);
    case "died":
      retire(outcome.detail);
      throw new DisposedError(outcome.detail);
    case "violation":
      retire(`the guest reached a denied host import (${outcome.detail})`);
      log(`violation: ${outcome.detail}`);
      throw new RestrictedError(`the host import '${outcome.detail}' (the Python sandbox never gives guests JavaScript, the shell, sockets or native libraries)`, "nothing: this is the sandbox's boundary; the interpreter was stopped");
    case "exit":
      if (outcome.ended) retire(`the guest ended its interpreter (exit status ${outcome.code})`);
      throw new SystemExit(outcome.code);
    case "fatal":
      if (outcome.stack) {
        retire("the guest overflowed the native stack");
        throw new StackLimitError(limits.stackBytes, " (native stack of the interpreter's thread)");
      }
      // Wasm memory grows in steps: near the cap, a failure is the guest's memory use.
      if (outcome.memoryBytes >= limits.memoryBytes * 0.9) {
        retire("the guest exhausted its memory");
        throw new MemoryLimitError("memoryBytes", limits.memoryBytes);
      }
      retire(`the interpreter failed: ${outcome.detail}`);
      throw new GuestError("InterpreterError", `the Python interpreter failed and was stopped: ${outcome.detail}`, "", []);
    case "malformed":
      retire("the guest's answer was malformed");
      throw new GuestError("InterpreterError", `the guest's answer could not be read (${outcome.detail})`, "", []);
    case "result-too-large":
      throw new MemoryLimitError("resultBytes", limits.resultBytes);
    case "ok":
      // A guest that swallowed the KeyboardInterrupt and finished inside the grace period is still over its time.
      overLimits(outcome, limits, retire);
      return outcome.value;
    case "exception":
      break;
  }
  overLimits(outcome, limits, retire);
  if (outcome.name === "MemoryError") {
    retire("the guest exhausted its memory");
    throw new MemoryLimitError("memoryBytes", limits.memoryBytes);
  }
  if (outcome.restricted) {
    const module = /^import of '([A-Za-z0-9_.]{1,200})'/.exec(outcome.message)?.[1];
    const denied = context.restricted ?? (module
      ? new RestrictedError(`import of module "${module}"`, `add "${module.split(".")[0]}" to okBuiltinModules`, `--allow-module ${module.split(".")[0]}`)
      : new RestrictedError(outcome.message, "add it to okBuiltinModules"));
    throw withFrames(denied, outcome.frames);
  }
  if (outcome.name === "PermissionError" && outcome.denied) {
    log(`denied: open ${outcome.denied.path} (${outcome.denied.mode})`);
    throw withFrames(context.restricted ?? openDenied(outcome.denied.path, outcome.denied.mode), outcome.frames);
  }
  const frames: GuestFrame[] = outcome.frames.map((f) => ({ functionName: f.name === "<module>" ? undefined : f.name, fileName: f.file, line: f.line, column: 0 })).reverse();
  const stack = ["Traceback (most recent call last):", ...outcome.frames.map((f) => `  File "${f.file}", line ${f.line}, in ${f.name}`), `${outcome.name}: ${outcome.message}`].join("\n");
  throw new GuestError(outcome.name, outcome.message, stack, frames);
}

