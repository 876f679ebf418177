/**
 * Command-line parsing for `rexec`: `util.parseArgs` for the flags, plus the
 * size/duration units, and Deno-style permission flags (`--allow-read[=paths]`).
 *
 * @packageDocumentation
 */
import { realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

/** A problem with the command line itself (exit code 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Deno's permission flags. Each takes an optional value after `=` only
 * (`--allow-read` grants all reads, `--allow-read=a,b` those paths): a bare
 * flag never takes the next word, as in Deno.
 */
export const PERMISSION_FLAGS = {
  "allow-read": "-R",
  "allow-write": "-W",
  "allow-env": "-E",
  "allow-net": "-N",
  "allow-import": "-I",
  "deny-read": undefined,
  "deny-write": undefined,
  "deny-env": undefined,
  "deny-net": undefined,
  "deny-import": undefined,
} as const;

/** A permission flag's name without dashes. */
export type PermissionName = keyof typeof PERMISSION_FLAGS;

/** A permission's state: `true` = all (bare flag), a list, or `undefined` = not given. */
export type Grant = true | string[] | undefined;

/** The flags `util.parseArgs` knows (permission flags are taken out before it runs). */
export const OPTIONS = {
  "allow-module": { type: "string", multiple: true },
  "allow-all": { type: "boolean", short: "A" },
  check: { type: "boolean" },
  print: { type: "boolean", short: "p" },
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
  command: "run" | "eval" | "repl" | "check" | "help" | "version";
  /** `run`/`check`: the script; `eval`: the code. */
  target: string | undefined;
  /** Arguments after the script, for the guest's `process.argv`. */
  rest: string[];
  allowModule: string[];
  /** Deno-style permissions, keyed by flag name without dashes. */
  perms: Record<PermissionName, Grant>;
  /** `-A`: every permission (denials still win). */
  allowAll: boolean;
  /** `--check`: type-check TypeScript before running. */
  check: boolean;
  /** `-p/--print`: eval prints the completion value. */
  print: boolean;
  memory: number | undefined;
  timeout: number | undefined;
  stack: number | undefined;
  maxOutput: number | undefined;
  worker: boolean;
  /** `--seed`: deterministic mode with this seed (a safe integer, or else the text itself). */
  seed: number | string | undefined;
  verbose: boolean;
}

const COMMANDS = new Set(["run", "eval", "repl", "check", "help", "version"]);

/** Take `--allow-x[=v]`/`--deny-x[=v]` and their short forms out of `args`. */
function takePermissions(args: string[]): { perms: Record<PermissionName, Grant>; left: string[] } {
  const perms = Object.fromEntries(Object.keys(PERMISSION_FLAGS).map((k) => [k, undefined])) as Record<PermissionName, Grant>;
  const short = new Map(Object.entries(PERMISSION_FLAGS).filter(([, s]) => s !== undefined).map(([k, s]) => [s as string, k as PermissionName]));
  const left: string[] = [];
  for (const arg of args) {
    // Long form, or Deno's short form with an optional "=value" (-R, -R=./data).
    const long = /^--((?:allow|deny)-(?:read|write|env|net|import))(?:=(.*))?$/s.exec(arg);
    const m = long ?? /^(-[A-Z])(?:=(.*))?$/s.exec(arg);
    const name = long ? (long[1] as PermissionName) : m ? short.get(m[1]!) : undefined;
    if (name === undefined) { left.push(arg); continue; }
    const value = m?.[2];
    if (value === undefined) { perms[name] = true; continue; }
    const items = value.split(",").map((s) => s.trim()).filter(Boolean);
    if (items.length === 0) throw new UsageError(`--${name}= needs a value (or use --${name} alone for all)`);
    if (perms[name] !== true) perms[name] = [...((perms[name] as string[] | undefined) ?? []), ...items];
  }
  return { perms, left };
}

/**
 * Parse `args` (without node and the script). Everything after the script of
 * `run` (or the code of `eval`) belongs to the guest, even if it looks like a
 * flag: `rexec run x.js --foo` gives the guest `--foo`.
 */
export function parseCli(args: string[]): CliArgs {
  // First pass, lenient, to find where the guest's own arguments start.
  let split = args.length;
  try {
    // A short permission flag with a value (-R=/tmp/a-b) would parse as a group of letters, and
    // its "-" as the option terminator: it stands in as a plain flag here (same index).
    const shown = args.map((arg) => (/^-[A-Z]=/s.test(arg) ? "-v" : arg));
    const { tokens } = parseArgs({ args: shown, options: { ...OPTIONS, ...permissionOptionsForSplit() }, strict: false, allowPositionals: true, tokens: true });
    const positionals = tokens.filter((t) => t.kind === "positional");
    if (positionals[0] && (positionals[0].value === "run" || positionals[0].value === "eval" || positionals[0].value === "check") && positionals[1]) {
      split = positionals[1].index + 1;
    }
  } catch {
    // the strict pass below reports it
  }
  const { perms, left } = takePermissions(args.slice(0, split));
  let parsed;
  try {
    parsed = parseArgs({ args: left, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/To specify a positional argument[^]*$/, "").trim());
  }
  const { values, positionals } = parsed;
  const rest = args.slice(split);
  let command: CliArgs["command"];
  if (values.help) command = "help";
  else if (values.version) command = "version";
  else if (positionals.length === 0) throw new UsageError("missing command: run, eval, repl or check");
  else if (!COMMANDS.has(positionals[0]!)) throw new UsageError(`unknown command "${positionals[0]}"; expected run, eval, repl or check`);
  else command = positionals[0] as CliArgs["command"];
  const target = positionals[1];
  if ((command === "run" || command === "eval" || command === "check") && target === undefined) {
    throw new UsageError(command === "eval" ? "rexec eval needs code: rexec eval '<expr>'" : `rexec ${command} needs a script: rexec ${command} <file${command === "run" ? "|url" : ""}> [args...]`);
  }
  if (command === "repl" && positionals.length > 1) throw new UsageError(`rexec repl takes no arguments (got "${positionals[1]}")`);
  if (command === "run" || command === "eval" || command === "check") rest.unshift(...positionals.slice(2));
  let worker = false;
  if (values.isolate !== undefined) {
    if (values.isolate === "worker") worker = true;
    else if (values.isolate !== "none" && values.isolate !== "inline") throw new UsageError(`--isolate must be "worker" (or "inline", the default), got "${values.isolate}"`);
  }
  const allowModule = (values["allow-module"] ?? []).flatMap((s) => s.split(",")).map((s) => s.trim().replace(/^node:/, "")).filter(Boolean);
  const unknown = allowModule.filter((m) => !KNOWN_MODULES.includes(m));
  if (unknown.length) throw new UsageError(`--allow-module: unknown module${unknown.length > 1 ? "s" : ""} ${unknown.map((m) => `"${m}"`).join(", ")}; known modules: ${KNOWN_MODULES.join(", ")}`);
  return {
    command,
    target,
    rest,
    allowModule,
    perms,
    allowAll: values["allow-all"] ?? false,
    check: values.check ?? command === "check",
    print: values.print ?? false,
    memory: values.memory === undefined ? undefined : parseSize(values.memory, "--memory"),
    timeout: values.timeout === undefined ? undefined : parseDuration(values.timeout, "--timeout"),
    stack: values.stack === undefined ? undefined : parseSize(values.stack, "--stack"),
    maxOutput: values["max-output"] === undefined ? undefined : parseSize(values["max-output"], "--max-output"),
    worker,
    seed: values.seed === undefined ? undefined : /^-?\d{1,15}$/.test(values.seed) ? Number(values.seed) : values.seed,
    verbose: values.verbose ?? false,
  };
}

/**
 * rexec's own flags among `args` (the words after the script or the code,
 * which belong to the guest): `rexec run x.js --allow-read /etc` gives the
 * script "--allow-read", as Deno and node do, and a refusal then says so.
 * Each flag is named once, without its value.
 */
export function rexecFlagsIn(args: readonly string[]): string[] {
  const shorts = new Set(["-A", ...Object.values(PERMISSION_FLAGS).filter((s) => s !== undefined)]);
  const longs = new Set([...Object.keys(PERMISSION_FLAGS), ...Object.keys(OPTIONS)].map((name) => `--${name}`));
  const found = new Set<string>();
  for (const arg of args) {
    const name = arg.split("=", 1)[0]!;
    if (longs.has(name) || shorts.has(name)) found.add(name);
  }
  return [...found];
}

/** Builtin modules a guest can be given (`--allow-module`). */
export const KNOWN_MODULES: readonly string[] = ["path", "util", "events", "assert", "url", "querystring", "string_decoder", "buffer", "fs"];

/** For the split pass only: permission flags as booleans, so a bare one never takes the next word. */
function permissionOptionsForSplit(): Record<string, { type: "boolean"; short?: string }> {
  const out: Record<string, { type: "boolean"; short?: string }> = {};
  for (const [name, s] of Object.entries(PERMISSION_FLAGS)) out[name] = s === undefined ? { type: "boolean" } : { type: "boolean", short: s.slice(1) };
  return out;
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

/** The real path of a script file, or undefined if it does not exist. */
export function realFile(file: string): string | undefined {
  try {
    const real = realpathSync(resolve(file));
    return statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}
