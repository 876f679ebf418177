/**
 * Flags shared by `rexec serve` and `rexec worker`: the server's limits (the
 * most a job may ask for), threads, queue bound, shutdown time; and running a
 * service until SIGTERM/SIGINT.
 *
 * @packageDocumentation
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { Limits } from "../host/limits.js";
import { KNOWN_MODULES, parseDuration, parseSize, UsageError } from "./options.js";

/** Flags both commands take. */
export const COMMON_OPTIONS = {
  threads: { type: "string" },
  "queue-limit": { type: "string" },
  "max-pools": { type: "string" },
  memory: { type: "string" },
  timeout: { type: "string" },
  "wall-time": { type: "string" },
  stack: { type: "string" },
  "max-output": { type: "string" },
  "max-result": { type: "string" },
  "shutdown-timeout": { type: "string" },
  "allow-module": { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

/** Help text of the common flags. */
export const COMMON_HELP = `Capacity:
  --threads <n>            guest runs at a time (default: number of cores)
  --queue-limit <n>        jobs waiting for a thread before refusing (default threads x 16)
  --max-pools <n>          thread pools of distinct job limits kept at once (default 4)

Limits (the default of every job and the most a job may ask for; a job's "limits" can only lower them):
  --memory <size>          guest heap (default 64m)
  --timeout <duration>     guest CPU time per job (default 1s)
  --wall-time <duration>   waiting (timers) per job (default 30s)
  --stack <size>           guest stack (default 1m in threads)
  --max-output <size>      stdout+stderr per job (default 1m)
  --max-result <size>      the result value (default 8m)

Policy:
  --allow-module <name,...>  the builtin modules guests may import (default: ${KNOWN_MODULES.join(", ")});
                             a job's "modules" can only narrow them. No file system, network or environment.

  --shutdown-timeout <duration>  on SIGTERM/SIGINT, how long running jobs may finish (default 10s)
  -h, --help`;

/** Parse `args` strictly; a bad flag is a {@link UsageError}. */
export function parseFlags<T extends ParseArgsConfig["options"]>(args: string[], options: T): ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true }) as never;
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/To specify a positional argument[^]*$/, "").trim());
  }
}

/** A whole number flag ≥ `min`. */
export function parseCount(text: string | undefined, flag: string, min = 1): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text.trim()) || Number(text) < min) throw new UsageError(`${flag}: "${text}" must be a whole number ≥ ${min}`);
  return Number(text);
}

type Values = Partial<Record<keyof typeof COMMON_OPTIONS, string | string[] | boolean | undefined>>;

/** The server's limits from the flags (only those given; the library fills in the rest). */
export function limitsFromFlags(values: Values): Partial<Limits> {
  const limits: Partial<Record<keyof Limits, number>> = {};
  const size = (flag: keyof Values, key: keyof Limits): void => {
    if (typeof values[flag] === "string") limits[key] = parseSize(values[flag], `--${flag}`);
  };
  const time = (flag: keyof Values, key: keyof Limits): void => {
    if (typeof values[flag] === "string") limits[key] = parseDuration(values[flag], `--${flag}`);
  };
  size("memory", "memoryBytes");
  time("timeout", "timeoutMs");
  time("wall-time", "wallTimeMs");
  size("stack", "stackBytes");
  size("max-output", "outputBytes");
  size("max-result", "resultBytes");
  return limits;
}

/** Runner options from the common flags. */
export function runnerFromFlags(values: Values): { limits: Partial<Limits>; concurrency?: number; queueLimit?: number; maxPools?: number; policy?: { okBuiltinModules: string[] } } {
  const out: { limits: Partial<Limits>; concurrency?: number; queueLimit?: number; maxPools?: number; policy?: { okBuiltinModules: string[] } } = { limits: limitsFromFlags(values) };
  const modules = values["allow-module"];
  if (Array.isArray(modules)) {
    const names = [...new Set(modules.flatMap((s) => s.split(",")).map((s) => s.trim().replace(/^node:/, "")).filter(Boolean))];
    const unknown = names.filter((m) => !KNOWN_MODULES.includes(m));
    if (unknown.length) throw new UsageError(`--allow-module: unknown module ${unknown.map((m) => `"${m}"`).join(", ")}; known modules: ${KNOWN_MODULES.join(", ")}`);
    out.policy = { okBuiltinModules: names };
  }
  const threads = parseCount(values.threads as string | undefined, "--threads");
  const queueLimit = parseCount(values["queue-limit"] as string | undefined, "--queue-limit", 0);
  const maxPools = parseCount(values["max-pools"] as string | undefined, "--max-pools");
  if (threads !== undefined) out.concurrency = threads;
  if (queueLimit !== undefined) out.queueLimit = queueLimit;
  if (maxPools !== undefined) out.maxPools = maxPools;
  return out;
}

/** `--shutdown-timeout` in ms (default 10 s). */
export function shutdownTimeout(values: Values): number {
  return typeof values["shutdown-timeout"] === "string" ? parseDuration(values["shutdown-timeout"], "--shutdown-timeout") : 10_000;
}

/**
 * Keep the service up until SIGTERM or SIGINT, then `close()` it. A second
 * signal exits at once. Resolves to the exit code.
 */
export function untilSignal(name: string, close: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`rexec ${name}: ${signal} again, exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      process.stderr.write(`rexec ${name}: ${signal}, shutting down (running jobs may finish)\n`);
      close().then(
        () => resolve(0),
        (error: unknown) => {
          process.stderr.write(`rexec ${name}: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`);
          resolve(70);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

/** Report a usage or start-up error; the exit code. */
export function failure(name: string, error: unknown): number {
  process.stderr.write(`rexec ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
  return error instanceof UsageError || error instanceof TypeError || error instanceof RangeError ? 2 : 70;
}
