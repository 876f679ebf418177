/**
 * The `rexec` command line: `rexec run|eval|repl`, a thin client of the public
 * API. Every capability comes from a flag; nothing else is granted.
 *
 * @packageDocumentation
 */
import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
// Only what every command needs is imported here; the library (~80 modules),
// the REPL and the type checker load when a command uses them.
import { RExecError, ModuleNotFoundError } from "../host/errors.js";
import { parseCli, realFile, rexecFlagsIn, UsageError, type CliArgs } from "./options.js";
import { EXIT, exitCodeOf, formatError, processExitCode } from "./report.js";
import type { Sandbox } from "./sandbox.js";
import { DEFAULT_PRINT, printValue } from "./print.js";
import { afterSetUp, oneShotProcess } from "./startup.js";
import { flushStdout, guardClosedPipes } from "./pipes.js";

export { EXIT } from "./report.js";

/** The version in rexec's package.json. */
export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export const HELP = `rexec — run untrusted JavaScript/TypeScript in a QuickJS WebAssembly sandbox

Usage:
  rexec run [flags] <file|url> [args...]   run a script (.js .mjs .cjs .ts .mts .cts); args go to process.argv
  rexec run [flags] - [args...]            ... read from stdin, like node -
  rexec eval [flags] '<code>'              run code, like node -e (stdin, require, top-level await)
  rexec eval -p '<expr>'                   ... and print its value, like node -p
  rexec repl [flags]                       interactive console (also runs piped stdin line by line)
  rexec check <file.ts>                    type-check with TypeScript, like deno check (run --check: check, then run)
  rexec serve [--host <a>] [--port <n>]    run jobs over HTTP (POST /run); rexec serve --help
  rexec worker --queue <redis-url>         run jobs from a BullMQ queue on Redis; rexec worker --help
  rexec --help | --version

Permissions (Deno's flags; nothing is allowed that a flag does not allow). Paths are host paths,
seen by the guest as themselves; its cwd is the real cwd. A flag's values follow "=" (comma-separated);
a bare flag allows everything of its kind and never takes the next word.

  flag                           allows                                        default
  --allow-read[=<path>...]  -R   reading those files/directories (bare: all)   none; run may import
                                                                               modules from its script's dir
  --allow-write[=<path>...] -W   writing/creating/deleting under them          none
  --allow-env[=<NAME>...]   -E   those variables in process.env (bare: all)    none
  --allow-import[=<host>...] -I  modules over http(s) from those hosts         none
  --allow-net[=<host>...]   -N   the guest's fetch to those hosts (bare: any    none
                                 public host; private/loopback only if named).
                                 A host without a port allows it on any port,
                                 as in Deno; host:port or an origin just that one
  --allow-all               -A   all of the above, and a process's own /proc entries
                                 (environment, memory), which no other flag reaches
  --deny-read[=<path>...]        never read these (wins over any allow, and -A)
  --deny-write[=<path>...]       never write these
  --deny-env[=<NAME>...]         never show these
  --deny-import[=<host>...]      never import from these
  --deny-net[=<host>...]         never fetch from these (narrows a list; with a bare
                                 --allow-net or -A it is a usage error for now)
  --allow-module <name>          a builtin module (path, util, events, assert, url, querystring,
                                 string_decoder, buffer, fs — all allowed by default)
A refusal names the exact flag that would allow it, e.g. "rerun with --allow-read=/etc/passwd".

Limits (always on; library defaults when omitted):
  --memory <size>         guest heap, e.g. 64m (default 64m)
  --timeout <duration>    CPU time per run, e.g. 2s, 500ms (default 1s)
  --stack <size>          guest stack, e.g. 1m (default 256k)
  --max-output <size>     guest output, e.g. 1m (default 1m); also caps the printed eval/REPL value
                          (at most 1m; a cut value ends with "… [output cut at N bytes …]")

Other:
  --check                 type-check TypeScript before running (exit 1 on type errors)
  -v, --verbose           log sandbox decisions (denials, limits, host calls) to stderr
  --isolate=worker        run the sandbox in a worker thread
  --seed <n>              deterministic run: Math.random and crypto from seed <n>, a virtual clock
                          from 1970-01-01T00:00:00Z moved only by timers (same input → same output)
  -h, --help              this help

Guest stdin/stdout/stderr are the process's (run, eval). In the guest, process.stdin offers
text(), read(), for await, and on("data"/"end").

Exit codes:
  0   success (or the guest's own exit(code) / process.exit(code) / process.exitCode, passed through)
  1   the guest threw an error
  2   usage error (bad command line)
  3   timeout (--timeout)
  4   memory limit (--memory)
  5   stack limit (--stack)
  6   output limit (--max-output)
  7   access denied (the message names the flag that would allow it)
  8   module or script not found
  70  internal error in rexec
`;

let rejectionGuard = false;

/**
 * The CLI never dies of a rejection it did not create. A rejection that nobody
 * handled and that carries a rexec error comes from guest code the host ran
 * without asking (the library is meant to prevent that; this is the CLI's last
 * line): it is dropped, after a note under --verbose, instead of ending the
 * process with Node's internal stack. Anything else is a rexec bug, reported as
 * one without printing the (possibly guest-derived) value by calling into it.
 */
function guardRejections(verbose: boolean): void {
  if (rejectionGuard) return;
  rejectionGuard = true;
  process.on("unhandledRejection", (reason) => {
    if (reason instanceof RExecError) {
      if (verbose) process.stderr.write(`rexec: ignored an unhandled ${reason.name} that no command was waiting for\n`);
      return;
    }
    process.stderr.write(`rexec: internal error: unhandled rejection: ${reason instanceof Error ? reason.stack ?? reason.message : printValue(reason, { maxBytes: 4096 })}\n`);
    process.exitCode = EXIT.INTERNAL;
  });
}

/** Run the CLI with `args` (without node and script); resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  // The service commands parse their own flags and load fastify/BullMQ only when used (serve.ts, worker.ts).
  if (args[0] === "serve") return (await import("./serve.js")).main(args.slice(1));
  if (args[0] === "worker") return (await import("./worker.js")).main(args.slice(1));
  // Not for the services: a long-running server must not end quietly when its log reader goes.
  guardClosedPipes();
  guardRejections(args.includes("-v") || args.includes("--verbose"));
  let cli: CliArgs;
  try {
    cli = parseCli(args);
  } catch (error) {
    process.stderr.write(formatError(error, () => undefined));
    return exitCodeOf(error);
  }
  switch (cli.command) {
    case "help":
      process.stdout.write(HELP);
      return EXIT.OK;
    case "version":
      process.stdout.write(`rexec ${version()}\n`);
      return EXIT.OK;
    case "run":
    case "check":
      // `run -`: the script is stdin, as with node and deno (run as eval's code, named <stdin>).
      if (cli.command === "run" && cli.target === "-") {
        const code = await readStdin();
        if (code === undefined) return EXIT.USAGE;
        return evaluate({ ...cli, target: code, print: false }, oneShotProcess(false), "<stdin>");
      }
      // One sandbox per process: start-up latency first (see startup.ts).
      return run(cli, oneShotProcess(false));
    case "eval":
      return evaluate(cli, oneShotProcess(true));
    case "repl": {
      const [{ runRepl }, { sandbox }] = await Promise.all([import("./repl.js"), import("./sandbox.js")]);
      const release = oneShotProcess(true);
      try {
        return await runRepl(cli, (extra) => {
          const box = sandbox(cli, extra);
          void afterSetUp(box.rx, release);
          return box;
        });
      } catch (error) {
        // The first sandbox could not be made (a limit out of range, say): reported like run's.
        process.stderr.write(formatError(error, () => undefined));
        return exitCodeOf(error);
      }
    }
  }
}

export type { Sandbox } from "./sandbox.js";

/** `rexec run <file|url> [args...]` (and `rexec check <file>`) */
async function run(cli: CliArgs, release: (() => void) | undefined): Promise<number> {
  // A Python script: its own runner, loaded only here (it brings the Python layer; see python-run.ts).
  if (cli.command === "run" && /\.py$/i.test(cli.target!) && !/^https?:\/\//i.test(cli.target!)) return (await import("./python-run.js")).runPython(cli);
  const target = cli.target!;
  const isUrl = /^https?:\/\//i.test(target);
  let box: Sandbox | undefined;
  try {
    let specifier: string;
    if (isUrl) {
      box = (await import("./sandbox.js")).sandbox(cli, { url: target, stdin: true });
      specifier = target;
    } else {
      const script = realFile(target);
      if (script === undefined) {
        if (isDirectory(target)) throw new UsageError(`${target} is a directory, not a script (permission flags take their paths after "=": --allow-read=${target})`);
        throw new ModuleNotFoundError(target, undefined);
      }
      if (cli.check) {
        const { typeCheck } = await import("./check.js");
        const failed = await typeCheck(script, await checkerMayRead(cli, script));
        if (failed !== undefined) return failed;
        if (cli.command === "check") return EXIT.OK;
      }
      box = (await import("./sandbox.js")).sandbox(cli, { script, stdin: true });
      specifier = script;
    }
    await afterSetUp(box.rx, release);
    // s_execfile runs like `node file`: until the script's host calls, reads and timers are done.
    await box.rx.s_execfile(specifier);
    return await guestExitCode(box);
  } catch (error) {
    return await fail(error, box, cli);
  } finally {
    // A guest that stopped reading mid-stream must not keep the process alive.
    if (!process.stdin.isTTY) process.stdin.destroy();
    box?.rx.dispose();
  }
}

/**
 * What the type checker may read: what the run could — modules in the script's
 * directory, and the `--allow-read` grants (denials and the /proc rule applied).
 */
async function checkerMayRead(cli: CliArgs, script: string): Promise<(path: string) => boolean> {
  const [{ CliGrants }, { canonicalHostPath, isAtOrBelow }] = await Promise.all([import("./cli-grants.js"), import("../loader/hooks/path-grants.js")]);
  const grants = new CliGrants({ read: cli.perms["allow-read"] ?? (cli.allowAll ? true : []), write: [], denyRead: cli.perms["deny-read"] ?? [], denyWrite: [] }, cli.allowAll);
  const dir = dirname(script);
  return (path) => {
    const real = canonicalHostPath(path);
    return isAtOrBelow(dir, real) || grants.allows(real, "r");
  };
}

/** Longest script `run -` reads from stdin (UTF-16 code units, as a file script's own bound is the loader's). */
const MAX_STDIN_SCRIPT = 16 * 1024 * 1024;

/** All of stdin as text, or undefined (reported) when it is longer than {@link MAX_STDIN_SCRIPT}. */
async function readStdin(): Promise<string | undefined> {
  const chunks: string[] = [];
  let length = 0;
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin as AsyncIterable<string>) {
    length += chunk.length;
    if (length > MAX_STDIN_SCRIPT) {
      process.stderr.write(`rexec: the script on stdin is longer than ${MAX_STDIN_SCRIPT} characters\n`);
      process.stdin.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return chunks.join("");
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `rexec eval '<code>'`: like `node -e` (prints only what the code logs); with `-p`, like `node -p`. */
async function evaluate(cli: CliArgs, release: (() => void) | undefined, filename = "<eval>"): Promise<number> {
  let box: Sandbox | undefined;
  try {
    box = (await import("./sandbox.js")).sandbox(cli, { stdin: true });
    await afterSetUp(box.rx, release);
    box.inline.set(filename, cli.target!);
    // Without -p the value is not copied out at all, as node -e ignores it: a symbol, a WeakMap
    // or a huge string is no error, and no guest getter runs to copy it.
    const value = cli.print ? await box.rx.s_eval(cli.target!, { filename }) : await box.rx.s_exec(cli.target!, { filename });
    // Bounded in time and bytes whatever the value (see print.ts); --max-output bounds it too.
    if (cli.print) process.stdout.write(`${printValue(value, { colors: Boolean(process.stdout.isTTY), rawString: true, maxBytes: Math.min(cli.maxOutput ?? DEFAULT_PRINT.maxBytes, DEFAULT_PRINT.maxBytes) })}\n`);
    // Then, like node -e/-p: on until the guest is idle (its timers, host calls and reads done);
    // an error thrown by a timer, or a rejection left unhandled, ends the command with exit 1.
    await box.rx.s_exec("", { filename: "<rexec:idle>", untilIdle: true });
    return await guestExitCode(box);
  } catch (error) {
    return await fail(error, box, cli);
  } finally {
    if (!process.stdin.isTTY) process.stdin.destroy();
    box?.rx.dispose();
  }
}

/**
 * The exit status of a guest that ended without exit(): its `process.exitCode`, as
 * in node (an integer, or a string of one, which node 20 still accepts), else 0.
 * Read as a data property only, so no guest getter runs; the question is guest
 * code under the sandbox's own limits, and any failure of it means 0.
 */
async function guestExitCode(box: Sandbox): Promise<number> {
  let code: unknown;
  try {
    code = await box.rx.r_eval(`(() => { const p = globalThis.process; const d = typeof p === "object" && p !== null ? Object.getOwnPropertyDescriptor(p, "exitCode") : undefined; const v = d !== undefined && "value" in d ? d.value : undefined; return typeof v === "number" || (typeof v === "string" && v.length < 20) ? v : undefined; })()`, { filename: "<rexec:exit-code>" });
  } catch {
    return EXIT.OK;
  }
  if (typeof code === "string" && /^\s*-?\d+\s*$/.test(code)) code = Number(code);
  return typeof code === "number" && Number.isSafeInteger(code) ? processExitCode(code) : EXIT.OK;
}

async function fail(error: unknown, box: Sandbox | undefined, cli: CliArgs): Promise<number> {
  await flushStdout();
  const code = exitCodeOf(error);
  if (!(error instanceof Error && error.name === "SystemExit")) {
    process.stderr.write(formatError(error, box?.sources ?? (() => undefined)));
    // A refusal or a limit that a flag behind the script was meant to lift: say where the flag went.
    if (code >= EXIT.TIMEOUT && code <= EXIT.RESTRICTED) process.stderr.write(misplacedFlagsNote(cli));
  }
  return code;
}

/** A note naming rexec flags the guest got as its own arguments (empty when there are none). */
function misplacedFlagsNote(cli: CliArgs): string {
  const flags = rexecFlagsIn(cli.rest);
  if (flags.length === 0) return "";
  const what = cli.command === "eval" ? "the code" : "the script";
  const list = flags.map((f) => `"${f}"`).join(", ");
  return `note: ${list} came after ${what}, so ${flags.length > 1 ? "they were" : "it was"} passed to ${what} (process.argv), not to rexec; rexec's flags go before ${what}: rexec ${cli.command} [flags] ${cli.command === "eval" ? "'<code>'" : "<file>"} [args...]\n`;
}
