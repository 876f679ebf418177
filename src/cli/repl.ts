/**
 * `rexec repl`: an interactive restricted console, one persistent sandbox, each
 * input evaluated with `s_eval` (top-level `await` included) and its value
 * printed the way Node's REPL does. Works on a terminal (history in a file, tab
 * completion of guest globals) and with piped stdin (line by line, like
 * `node -i`: errors are reported and the session goes on; exit code 0 unless
 * the guest calls exit).
 *
 * Invariant: completion asks the guest only under a short deadline and keeps a
 * bounded number of bounded, identifier-shaped names from the answer.
 *
 * @packageDocumentation
 */
import { createInterface, type Completer } from "node:readline";
import { historyFile, loadHistory, saveHistory } from "./repl-history.js";
import { completer } from "./repl-complete.js";
import { leftOpen } from "./repl-incomplete.js";
import { AbortError, GuestError, SystemExit } from "../host/errors.js";
import type { RExec } from "../host/rexec.js";
import type { CliArgs } from "./options.js";
import { EXIT, formatError, processExitCode } from "./report.js";
import { DEFAULT_PRINT, printValue } from "./print.js";
import type { Sandbox } from "./main.js";

const REPL_HELP = `.help     this help
.exit     leave (or Ctrl-D)
.clear    forget the sandbox and start a new one
.break    abandon a multi-line input
Each input runs in one persistent restricted sandbox; limits apply per input.
`;

/**
 * Longest multi-line entry (in UTF-16 code units) the REPL accumulates. Every
 * new line of an unfinished entry re-evaluates the whole entry, so without a
 * cap piped input that never completes costs quadratic time (400 KB: ~50 s).
 */
export const MAX_ENTRY = 16 * 1024;

/** Is this syntax error just an input that is not finished yet? */
function incomplete(error: unknown, input: string): boolean {
  if (!(error instanceof GuestError && error.guestName === "SyntaxError")) return false;
  return /unexpected end of (input|string|comment)|unexpected token in expression: ''|expecting/.test(error.message) || leftOpen(input);
}

/** Run the REPL; resolves to the exit code. */
export async function runRepl(cli: CliArgs, makeSandbox: (extra: { stdin?: boolean }) => Sandbox): Promise<number> {
  const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  let box = makeSandbox({});
  let counter = 0;
  const historyPath = terminal ? historyFile() : undefined;
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal,
    prompt: "> ",
    historySize: 1000,
    removeHistoryDuplicates: true,
    history: historyPath === undefined ? [] : loadHistory(historyPath),
    ...(terminal ? { completer: completer(() => box.rx) as Completer } : {}),
  });
  const prompt = (more: boolean) => {
    if (!terminal) return;
    rl.setPrompt(more ? "... " : "> ");
    rl.prompt();
  };
  if (terminal) process.stdout.write(`rexec ${cli.verbose ? "(verbose) " : ""}restricted console — .help for help, .exit or Ctrl-D to leave\n`);
  prompt(false);
  let pending = "";
  let code: number = EXIT.OK;
  // Ctrl-C, as in node's REPL: it interrupts a running input (when the host is free to see
  // it: with --isolate=worker at once, in-thread once the input ends or its --timeout does),
  // clears a half-typed one, and only a second one on an empty prompt leaves. Without a
  // handler readline closes the session at the first Ctrl-C, dropping what was typed.
  let running: AbortController | undefined;
  let warned = false;
  rl.on("SIGINT", () => {
    if (running) { running.abort(); return; }
    if (rl.line !== "" || pending !== "") {
      pending = "";
      warned = false;
      rl.write(null, { ctrl: true, name: "e" });
      rl.write(null, { ctrl: true, name: "u" });
      process.stdout.write("\n");
      prompt(false);
      return;
    }
    if (warned) { rl.close(); return; }
    warned = true;
    process.stdout.write("\n(To exit, press Ctrl+C again or Ctrl+D or type .exit)\n");
    prompt(false);
  });
  const reset = (why: string) => {
    box.rx.dispose();
    box = makeSandbox({});
    if (why) process.stderr.write(`(${why}; started a new sandbox)\n`);
  };
  for await (const line of rl) {
    warned = false;
    // .exit works even in the middle of a multi-line entry.
    if (line.trim() === ".exit") break;
    if (pending === "") {
      const cmd = line.trim();
      if (cmd === ".help") { process.stdout.write(REPL_HELP); prompt(false); continue; }
      if (cmd === ".clear") { reset(""); process.stdout.write("Sandbox cleared\n"); prompt(false); continue; }
      if (cmd === "") { prompt(false); continue; }
    } else if (line.trim() === ".break") { pending = ""; prompt(false); continue; }
    const input = pending === "" ? line : `${pending}\n${line}`;
    if (input.length > MAX_ENTRY) {
      pending = "";
      process.stderr.write(`input too long for one REPL entry (over ${MAX_ENTRY} characters); discarded\n`);
      prompt(false);
      continue;
    }
    const filename = `<repl${++counter}>`;
    box.inline.set(filename, input);
    running = new AbortController();
    try {
      const value = await evalInput(box.rx, input, filename, running.signal);
      pending = "";
      box.inline.delete(filename);
      process.stdout.write(`${printValue(value, { colors: terminal, depth: 4, maxBytes: Math.min(cli.maxOutput ?? DEFAULT_PRINT.maxBytes, DEFAULT_PRINT.maxBytes) })}\n`);
    } catch (error) {
      if (incomplete(error, input) && line.trim() !== "") {
        pending = input;
        counter--;
        prompt(true);
        continue;
      }
      pending = "";
      if (error instanceof SystemExit) { code = processExitCode(error.code); break; }
      if (error instanceof AbortError && running?.signal.aborted) process.stderr.write("Interrupted (Ctrl-C)\n");
      else process.stderr.write(formatError(error, box.sources, { uncaught: true }));
      if (!box.rx.alive) reset("the sandbox was discarded");
      // Like `node -i`: an error is reported and the session goes on (exit code unchanged).
    } finally {
      running = undefined;
    }
    prompt(false);
  }
  if (historyPath !== undefined) saveHistory(historyPath, (rl as unknown as { history?: string[] }).history ?? []);
  rl.close();
  box.rx.dispose();
  return code;
}

/** Evaluate one input: an object literal `{…}` is tried as an expression first, like Node. */
async function evalInput(rx: RExec, input: string, filename: string, signal: AbortSignal): Promise<unknown> {
  // trim + startsWith/endsWith, not /;\s*$/: that pattern is quadratic in a run of white space.
  if (input.trimStart().startsWith("{") && !input.trimEnd().endsWith(";")) {
    try {
      return await rx.s_eval(`(${input}\n)`, { filename, signal });
    } catch (error) {
      if (!(error instanceof GuestError && error.guestName === "SyntaxError")) throw error;
    }
  }
  return rx.s_eval(input, { filename, signal });
}
