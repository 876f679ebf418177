/**
 * The `rexec` command line: `rexec run|eval|repl`, a thin client of the public
 * API. Every capability comes from a flag; nothing else is granted.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  FileSystemHooks,
  MemoryHooks,
  RestrictedError,
  RExecError,
  ModuleNotFoundError,
  RExec,
  UrlHooks,
  type RExecOptions,
  type Limits,
  type RHooks,
} from "../index.js";
import { parseCli, realDir, realFile, RootMap, UsageError, type CliArgs } from "./options.js";
import { EXIT, exitCodeOf, formatError, readText, type SourceLookup } from "./report.js";
import { Readable } from "node:stream";
import { runRepl } from "./repl.js";
import { skipWarmUpInThisThread } from "../engine/warm-up.js";
import { DEFAULT_PRINT, printValue } from "./print.js";

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
  rexec run <file|url> [args...]   run a script (.js .mjs .cjs .ts .mts .cts); args go to process.argv
  rexec eval '<expr>'              evaluate an expression and print its value
  rexec repl                       interactive restricted console (also reads piped stdin)
  rexec --help | --version

Permissions (nothing is allowed that a flag does not allow):
  --root <dir>            module root the guest sees as "/" (run: default the script's directory;
                          eval/repl: default none — no files at all)
  --allow-read <dir>      another readable directory (with several, root i is /root<i>)
  --allow-write <dir>     let the guest write under <dir> (added as a root if outside the others)
  --allow-env <NAME>      show environment variable NAME in process.env (repeat or A,B)
  --allow-module <name>   add a builtin module to the safe list (path, util, events, assert, url,
                          querystring, string_decoder, buffer, fs)
  --allow-import <origin> allow modules over HTTP(S) from <origin>; run <url> needs its origin here

Limits (always on; library defaults when omitted):
  --memory <size>         guest heap, e.g. 64m (default 64m)
  --timeout <duration>    CPU time per run, e.g. 2s, 500ms (default 1s)
  --stack <size>          guest stack, e.g. 1m (default 256k)
  --max-output <size>     guest output, e.g. 1m (default 1m); also caps the printed eval/REPL value
                          (at most 1m; a cut value ends with "… [output cut at N bytes …]")

Other:
  -v, --verbose           log sandbox decisions (denials, limits, host calls) to stderr
  --isolate=worker        run the sandbox in a worker thread
  --seed <n>              deterministic run: Math.random and crypto from seed <n>, a virtual clock
                          from 1970-01-01T00:00:00Z moved only by timers (same input → same output)
  -h, --help              this help

Guest stdin/stdout/stderr are the process's (run). In the guest, process.stdin offers
text(), read(), for await, and on("data"/"end").

Exit codes:
  0   success (or the guest's own exit(code) / process.exit(code), passed through)
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
      return run(cli);
    case "eval":
      // One expression: start-up latency beats first-heavy-call speed (see warm-up.ts).
      skipWarmUpInThisThread();
      return evaluate(cli);
    case "repl":
      skipWarmUpInThisThread();
      return runRepl(cli, (extra) => sandbox(cli, extra));
  }
}

/** A configured sandbox plus what the CLI needs to report its errors. */
export interface Sandbox {
  rx: RExec;
  sources: SourceLookup;
  /** Map of virtual `<eval>`-style file names to their code, for carets. */
  inline: Map<string, string>;
  /** The host directories the guest sees. */
  roots: RootMap;
}

interface SandboxExtra {
  /** The host script (run with a file). */
  script?: string;
  /** The script URL (run with a URL). */
  url?: string;
  /** Grant guest stdin. */
  stdin?: boolean;
}

/** Build the RExec (hooks, policy, limits) the flags describe. */
function sandbox(cli: CliArgs, extra: SandboxExtra): Sandbox {
  const roots = new RootMap();
  let hooks: RHooks;
  if (extra.url !== undefined) {
    if (cli.root !== undefined || cli.allowRead.length || cli.allowWrite.length) {
      throw new UsageError("--root, --allow-read and --allow-write do not apply to a script given as a URL");
    }
    hooks = new UrlHooks({ base: extra.url, allow: cli.allowImport });
  } else {
    if (cli.allowImport.length) throw new UsageError("--allow-import applies to a script given as an http(s) URL: rexec run --allow-import <origin> <url>");
    if (cli.root !== undefined) roots.add(cli.root, "--root");
    else if (extra.script !== undefined) roots.add(dirname(extra.script), "--root");
    for (const dir of cli.allowRead) roots.add(dir, "--allow-read");
    for (const dir of cli.allowWrite) {
      const real = realDir(dir, "--allow-write");
      if (roots.find(real) < 0) roots.add(real, "--allow-write");
    }
    hooks = roots.roots.length ? new FileSystemHooks({ root: roots.roots.length === 1 ? roots.roots[0]! : roots.roots }) : new MemoryHooks({ files: {} });
  }
  const okWritePaths = cli.allowWrite.map((dir) => roots.guestPath(realDir(dir, "--allow-write"))!);
  const limits: { -readonly [K in keyof Limits]?: number } = {};
  if (cli.memory !== undefined) limits.memoryBytes = cli.memory;
  if (cli.timeout !== undefined) limits.timeoutMs = cli.timeout;
  if (cli.stack !== undefined) limits.stackBytes = cli.stack;
  if (cli.maxOutput !== undefined) limits.outputBytes = cli.maxOutput;
  const options: RExecOptions & { worker?: boolean } = {
    hooks,
    limits,
    okBuiltinModules: [...new Set([...RExec.okBuiltinModules, ...cli.allowModule])],
    okEnv: cli.allowEnv,
    okWritePaths,
    argv: cli.rest,
    verbose: cli.verbose ? (line: string) => process.stderr.write(`rexec: ${line}\n`) : false,
  };
  // The guest's process.stdin is the process's for `run`; the REPL keeps stdin for itself.
  if (!extra.stdin) options.stdio = { stdin: Readable.from([]) };
  if (cli.worker) options.worker = true;
  if (cli.seed !== undefined) options.deterministic = { seed: cli.seed };
  if (cli.verbose) {
    for (const [i, root] of roots.roots.entries()) process.stderr.write(`rexec: root ${roots.roots.length === 1 ? "/" : `/root${i}`} = ${root}\n`);
    for (const p of okWritePaths) process.stderr.write(`rexec: writable: ${p}\n`);
  }
  let rx: RExec;
  try {
    rx = new RExec(options);
  } catch (error) {
    if (cli.worker && error instanceof TypeError && /worker/.test(error.message)) {
      throw new UsageError(`--isolate=worker is not supported by this build of the rexec library (${error.message})`);
    }
    throw error;
  }
  const inline = new Map<string, string>();
  const sources: SourceLookup = (fileName) => inline.get(fileName) ?? readText(roots.hostPath(fileName));
  return { rx, sources, inline, roots };
}

/** `rexec run <file|url> [args...]` */
async function run(cli: CliArgs): Promise<number> {
  const target = cli.target!;
  const isUrl = /^https?:\/\//i.test(target);
  let box: Sandbox | undefined;
  try {
    let specifier: string;
    if (isUrl) {
      const origin = new URL(target).origin;
      if (!cli.allowImport.some((o) => safeOrigin(o) === origin)) {
        throw new RestrictedError(`import of ${target}`, `allow its origin`, `--allow-import ${origin}`);
      }
      box = sandbox(cli, { url: target, stdin: true });
      specifier = target;
    } else {
      const script = realFile(target);
      if (script === undefined) throw new ModuleNotFoundError(target, undefined);
      box = sandbox(cli, { script, stdin: true });
      const guest = box.roots.guestPath(script);
      if (guest === undefined) throw new UsageError(`the script ${target} is not inside --root ${cli.root}`);
      specifier = guest;
    }
    // s_execfile runs like `node file`: until the script's host calls, reads and timers are done.
    await box.rx.s_execfile(specifier);
    return EXIT.OK;
  } catch (error) {
    return fail(error, box);
  } finally {
    // A guest that stopped reading mid-stream must not keep the process alive.
    if (!process.stdin.isTTY) process.stdin.destroy();
    box?.rx.dispose();
  }
}

function safeOrigin(text: string): string | undefined {
  try {
    return new URL(text).origin;
  } catch {
    return undefined;
  }
}

/** `rexec eval '<expr>'` */
async function evaluate(cli: CliArgs): Promise<number> {
  let box: Sandbox | undefined;
  try {
    box = sandbox(cli, {});
    box.inline.set("<eval>", cli.target!);
    const value = await box.rx.s_eval(cli.target!, { filename: "<eval>" });
    // Bounded in time and bytes whatever the value (see print.ts); --max-output bounds it too.
    process.stdout.write(`${printValue(value, { colors: Boolean(process.stdout.isTTY), rawString: true, maxBytes: Math.min(cli.maxOutput ?? DEFAULT_PRINT.maxBytes, DEFAULT_PRINT.maxBytes) })}\n`);
    return EXIT.OK;
  } catch (error) {
    return fail(error, box);
  } finally {
    box?.rx.dispose();
  }
}

function fail(error: unknown, box: Sandbox | undefined): number {
  const code = exitCodeOf(error);
  if (!(error instanceof Error && error.name === "SystemExit")) {
    process.stderr.write(formatError(error, box?.sources ?? (() => undefined)));
  }
  return code;
}
