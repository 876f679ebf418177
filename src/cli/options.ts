/**
 * Command-line parsing for `rexec`: `util.parseArgs` for the flags, plus the
 * size/duration units and the mapping of host directories to guest paths.
 *
 * @packageDocumentation
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";

/** A problem with the command line itself (exit code 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The flags `util.parseArgs` knows. */
export const OPTIONS = {
  "allow-module": { type: "string", multiple: true },
  "allow-read": { type: "string", multiple: true },
  "allow-write": { type: "string", multiple: true },
  "allow-env": { type: "string", multiple: true },
  "allow-import": { type: "string", multiple: true },
  root: { type: "string" },
  memory: { type: "string" },
  timeout: { type: "string" },
  stack: { type: "string" },
  "max-output": { type: "string" },
  isolate: { type: "string" },
  seed: { type: "string" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

/** The parsed command line. */
export interface CliArgs {
  command: "run" | "eval" | "repl" | "help" | "version";
  /** `run`: the script; `eval`: the code. */
  target: string | undefined;
  /** Arguments after the script, for the guest's `process.argv`. */
  rest: string[];
  allowModule: string[];
  allowRead: string[];
  allowWrite: string[];
  allowEnv: string[];
  allowImport: string[];
  root: string | undefined;
  memory: number | undefined;
  timeout: number | undefined;
  stack: number | undefined;
  maxOutput: number | undefined;
  worker: boolean;
  /** `--seed`: deterministic mode with this seed (a safe integer, or else the text itself). */
  seed: number | string | undefined;
  verbose: boolean;
}

const COMMANDS = new Set(["run", "eval", "repl", "help", "version"]);

/**
 * Parse `args` (without node and the script). Everything after the script of
 * `run` (or the code of `eval`) belongs to the guest, even if it looks like a
 * flag: `rexec run x.js --foo` gives the guest `--foo`.
 */
export function parseCli(args: string[]): CliArgs {
  // First pass, lenient, to find where the guest's own arguments start.
  let split = args.length;
  try {
    const { tokens } = parseArgs({ args, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
    const positionals = tokens.filter((t) => t.kind === "positional");
    if (positionals[0] && (positionals[0].value === "run" || positionals[0].value === "eval") && positionals[1]) {
      split = positionals[1].index + 1;
    }
  } catch {
    // the strict pass below reports it
  }
  let parsed;
  try {
    parsed = parseArgs({ args: args.slice(0, split), options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const rest = args.slice(split);
  let command: CliArgs["command"];
  if (values.help) command = "help";
  else if (values.version) command = "version";
  else if (positionals.length === 0) throw new UsageError("missing command: run, eval or repl");
  else if (!COMMANDS.has(positionals[0]!)) throw new UsageError(`unknown command "${positionals[0]}"; expected run, eval or repl`);
  else command = positionals[0] as CliArgs["command"];
  const target = positionals[1];
  if ((command === "run" || command === "eval") && target === undefined) {
    throw new UsageError(command === "run" ? "rexec run needs a script: rexec run <file|url> [args...]" : "rexec eval needs code: rexec eval '<expr>'");
  }
  if (command === "repl" && positionals.length > 1) throw new UsageError(`rexec repl takes no arguments (got "${positionals[1]}")`);
  if (command === "run" || command === "eval") rest.unshift(...positionals.slice(2));
  let worker = false;
  if (values.isolate !== undefined) {
    if (values.isolate === "worker") worker = true;
    else if (values.isolate !== "none" && values.isolate !== "inline") throw new UsageError(`--isolate must be "worker" (or "inline", the default), got "${values.isolate}"`);
  }
  const list = (v: string[] | undefined, comma: boolean) => (v ?? []).flatMap((s) => (comma ? s.split(",") : [s])).map((s) => s.trim()).filter(Boolean);
  return {
    command,
    target,
    rest,
    allowModule: list(values["allow-module"], true),
    allowRead: list(values["allow-read"], false),
    allowWrite: list(values["allow-write"], false),
    allowEnv: list(values["allow-env"], true),
    allowImport: list(values["allow-import"], true),
    root: values.root,
    memory: values.memory === undefined ? undefined : parseSize(values.memory, "--memory"),
    timeout: values.timeout === undefined ? undefined : parseDuration(values.timeout, "--timeout"),
    stack: values.stack === undefined ? undefined : parseSize(values.stack, "--stack"),
    maxOutput: values["max-output"] === undefined ? undefined : parseSize(values["max-output"], "--max-output"),
    worker,
    seed: values.seed === undefined ? undefined : /^-?\d{1,15}$/.test(values.seed) ? Number(values.seed) : values.seed,
    verbose: values.verbose ?? false,
  };
}

// Applied to trimmed text: `\s*…\s*$` around the unit backtracked quadratically on a run of spaces.
const UNIT_NUMBER = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `64m`, `512k`, `1g`, `1048576` (bytes). Units are binary (k = 1024). */
export function parseSize(text: string, flag: string): number {
  const m = UNIT_NUMBER.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`${flag}: "${text}" is not a size (examples: 64m, 512k, 1g, 1048576)`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!(bytes > 0) || !Number.isSafeInteger(bytes)) throw new UsageError(`${flag}: "${text}" must be a positive size`);
  return bytes;
}

const TIME_UNITS: Record<string, number> = { "": 1, ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** `2s`, `500ms`, `1m`, `1500` (milliseconds). */
export function parseDuration(text: string, flag: string): number {
  const m = UNIT_NUMBER.exec(text.trim());
  const unit = m ? TIME_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`${flag}: "${text}" is not a duration (examples: 2s, 500ms, 1m, 1500)`);
  const ms = Math.round(Number(m[1]) * unit);
  if (!(ms > 0)) throw new UsageError(`${flag}: "${text}" must be a positive duration`);
  return ms;
}

/** Host directories the guest sees, and how host paths map to guest paths. */
export class RootMap {
  /** Real (symlink-free) host directories; guest sees `/` (one) or `/root<i>` (several). */
  readonly roots: string[] = [];

  /** Add a directory (deduplicated); returns its index. */
  add(dir: string, flag: string): number {
    const real = realDir(dir, flag);
    const existing = this.roots.indexOf(real);
    if (existing >= 0) return existing;
    this.roots.push(real);
    return this.roots.length - 1;
  }

  /** The root a real host path lies in, or -1. Roots added earlier win. */
  find(hostPath: string): number {
    return this.roots.findIndex((root) => isInside(root, hostPath));
  }

  /** The guest path of a host path inside a root (call after all roots are added). */
  guestPath(hostPath: string): string | undefined {
    const i = this.find(hostPath);
    if (i < 0) return undefined;
    const rel = relative(this.roots[i]!, hostPath).split(sep).join("/");
    const base = this.roots.length === 1 ? "" : `/root${i}`;
    return rel === "" ? base || "/" : `${base}/${rel}`;
  }

  /**
   * The host path of a guest path, only when it is inside a root (symlinks
   * resolved and checked); for showing source lines of guest files.
   */
  hostPath(guestPath: string): string | undefined {
    if (!guestPath.startsWith("/") || guestPath.includes("\0")) return undefined;
    let index = 0;
    let rest = guestPath;
    if (this.roots.length > 1) {
      const m = /^\/root(\d+)(\/.*|)$/.exec(guestPath);
      if (!m) return undefined;
      index = Number(m[1]);
      rest = m[2] || "/";
    }
    const root = this.roots[index];
    if (root === undefined) return undefined;
    const candidate = resolve(root, `.${rest}`);
    if (!isInside(root, candidate) || !existsSync(candidate)) return undefined;
    try {
      const real = realpathSync(candidate);
      return isInside(root, real) ? real : undefined;
    } catch {
      return undefined;
    }
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** A directory's real path; a usage error naming the flag if it is not a directory. */
export function realDir(dir: string, flag: string): string {
  let real: string;
  try {
    real = realpathSync(resolve(dir));
  } catch {
    throw new UsageError(`${flag}: directory "${dir}" does not exist`);
  }
  if (!statSync(real).isDirectory()) throw new UsageError(`${flag}: "${dir}" is not a directory`);
  return real;
}

/** The real path of a script file, or undefined if it does not exist. */
export function realFile(file: string): string | undefined {
  try {
    const real = realpathSync(resolve(file));
    return statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

export { dirname };
