/**
 * A job of the service and the queue worker: `{ code, input?, files?, limits?, modules?, filename?, language? }`,
 * checked before anything runs.
 *
 * Invariant: a job can only tighten the limits the server (or worker) was
 * started with — every limit it names must be at most the server's; none can
 * be raised or switched off by a client — and only narrow its builtin modules
 * to a subset of the server's. Job data comes from the network or
 * from Redis, so it is treated as hostile: strings are measured before they
 * are quoted in a message, and quoted text is cut.
 *
 * @packageDocumentation
 */
import { resolveLimits, type Limits } from "../host/limits.js";
import { MemoryHooks } from "../loader/hooks/memory-hooks.js";
import { MAX_RUN_FILE_BYTES, MAX_RUN_FILES } from "../pool/pool.js";
import { MAX_DEPTH as MAX_INPUT_DEPTH } from "../worker/codec.js";

/** A job as a client sends it (the body of `POST /run`, or the data of a queue job). */
export interface JobData {
  /**
   * Builtin modules the guest may import (`"path"`, `"util"`…): a subset of the
   * server's (default: all of the server's). Like limits, it can only narrow.
   */
  readonly modules?: readonly string[];
  /** The code to evaluate (its completion value is the result, as with `RExec.r_eval`). */
  readonly code: string;
  /** Data copied into the guest as the global `input` (JSON). */
  readonly input?: unknown;
  /** Limits of this run; each must be at most the server's (they can only tighten). */
  readonly limits?: Partial<Limits>;
  /** The file name guest stacks show (default `<eval>`); `.ts` makes the code TypeScript. */
  readonly filename?: string;
  /** `"ts"`: the code is TypeScript. */
  readonly language?: "js" | "ts";
  /**
   * The job's own module files, by path (`{ "lib.js": "export const a = 1" }`):
   * its code imports or requires them (`require("./lib.js")`,
   * `await import("./main.js")`). They count toward the server's code size
   * limit together with `code`.
   */
  readonly files?: Readonly<Record<string, string>>;
}

/** A checked job: its limits are the effective ones (the server's, tightened by the job's). */
export interface Job {
  readonly code: string;
  readonly hasInput: boolean;
  readonly input: unknown;
  readonly limits: Limits;
  /** The builtin modules the guest may import (the server's, or the job's narrower list), sorted. */
  readonly modules: readonly string[];
  readonly filename: string | undefined;
  readonly language: "js" | "ts" | undefined;
  /** The job's module files, if it has any. */
  readonly files: Readonly<Record<string, string>> | undefined;
}

/** The job is malformed or asks for more than the server allows (HTTP 400; a queue job fails without retry). */
export class InvalidJobError extends Error {
  override name = "InvalidJobError";
}

const JOB_KEYS = new Set(["code", "input", "files", "limits", "modules", "filename", "language"]);
/** Most module files a job may carry (the pool's own bound: more would fail in `RExecPool.run` as a service error). */
const MAX_FILES = MAX_RUN_FILES;
const LIMIT_KEYS: readonly (keyof Limits)[] = ["memoryBytes", "timeoutMs", "wallTimeMs", "stackBytes", "outputBytes", "resultBytes"];
/** Longest file name a job may give (it appears in every stack line). */
const MAX_FILENAME = 256;

/** Guest- or client-chosen text quoted in a message, cut. */
function quote(text: string): string {
  const cut = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return JSON.stringify(cut);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Check `data` and compute its effective limits.
 *
 * @param data - the parsed JSON of a request body or a queue job
 * @param max - the server's limits: the job's own can only be lower or equal
 * @param maxCodeBytes - longest `code` accepted, in UTF-16 units (the HTTP body limit bounds it too)
 * @param modules - the server's builtin modules: a job's `modules` must be among them
 * @throws {@link InvalidJobError} with a message that says what to change
 */
export function checkJob(data: unknown, max: Limits, maxCodeBytes = Infinity, modules: readonly string[] = []): Job {
  if (!isPlainObject(data)) throw new InvalidJobError(`a job must be a JSON object like { "code": "1 + 1" }, got ${data === null ? "null" : Array.isArray(data) ? "an array" : typeof data}`);
  for (const key of Object.keys(data)) {
    if (!JOB_KEYS.has(key)) throw new InvalidJobError(`unknown job field ${quote(key)}; the fields are ${[...JOB_KEYS].join(", ")}`);
  }
  const { code, filename, language } = data;
  if (typeof code !== "string") throw new InvalidJobError(`"code" must be a string of JavaScript, got ${code === null ? "null" : typeof code}`);
  if (code.length > maxCodeBytes) throw new InvalidJobError(`"code" is ${code.length} characters, more than this server accepts (${maxCodeBytes})`);
  // No control characters: the name is written into every stack line, where a newline would forge frames.
  if (filename !== undefined && (typeof filename !== "string" || filename.length === 0 || filename.length > MAX_FILENAME || /[\u0000-\u001f\u007f]/.test(filename))) {
    throw new InvalidJobError(`"filename" must be a non-empty string of at most ${MAX_FILENAME} characters, without control characters`);
  }
  if (language !== undefined && language !== "js" && language !== "ts") throw new InvalidJobError(`"language" must be "js" or "ts"`);
  // Also within what RExecPool.run takes as files: a server with a larger body limit must still answer 400, not 500.
  const files = checkFiles(data.files, Math.min(maxCodeBytes - code.length, MAX_RUN_FILE_BYTES));
  // The worker boundary refuses deeper values with a CloneError that reads like the guest's fault
  // ("return a flatter value"): the client's input is what is wrong, so say so (400 / a failed job).
  if (!nestedWithin(data.input, MAX_INPUT_DEPTH)) throw new InvalidJobError(`"input" is nested deeper than ${MAX_INPUT_DEPTH} levels; send a flatter value`);
  return {
    code,
    hasInput: Object.hasOwn(data, "input"),
    input: data.input,
    limits: tightenLimits(data.limits, max),
    modules: narrowModules(data.modules, modules),
    filename: filename as string | undefined,
    language: language as "js" | "ts" | undefined,
    files,
  };
}

/** The job's module files: an object of path → source text, within what is left of the code size limit. */
function checkFiles(given: unknown, budget: number): Readonly<Record<string, string>> | undefined {
  if (given === undefined || given === null) return undefined;
  if (!isPlainObject(given)) throw new InvalidJobError(`"files" must be an object of { "path.js": "source text" }`);
  const entries = Object.entries(given);
  if (entries.length > MAX_FILES) throw new InvalidJobError(`"files" holds ${entries.length} files; at most ${MAX_FILES}`);
  let left = budget;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [path, text] of entries) {
    if (typeof text !== "string") throw new InvalidJobError(`"files": the content of ${quote(path)} must be a string of source text`);
    if (path.length === 0 || path.length > MAX_FILENAME) throw new InvalidJobError(`"files": a path must be a non-empty string of at most ${MAX_FILENAME} characters`);
    left -= path.length + text.length;
    if (left < 0) throw new InvalidJobError(`"code" and "files" together are more characters than this server accepts`);
    out[path] = text;
  }
  try {
    // The names as the job's in-memory tree takes them (no NUL, nothing outside the tree).
    new MemoryHooks({ files: out });
  } catch (error) {
    throw new InvalidJobError(`"files": ${(error as Error).message.slice(0, 300)}`);
  }
  return out;
}

/** The server's limits with the job's lower ones in their place; a higher one is an error. */
export function tightenLimits(given: unknown, max: Limits): Limits {
  if (given === undefined || given === null) return max;
  if (!isPlainObject(given)) throw new InvalidJobError(`"limits" must be an object like { "timeoutMs": 100 }`);
  const out: Partial<Record<keyof Limits, number>> = {};
  for (const [key, value] of Object.entries(given)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) throw new InvalidJobError(`unknown limit ${quote(key)}; the limits are ${LIMIT_KEYS.join(", ")}`);
    const name = key as keyof Limits;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new InvalidJobError(`limits.${name} must be a whole number ≥ 0, got ${typeof value === "number" ? value : typeof value}`);
    if (value > max[name]) throw new InvalidJobError(`limits.${name} ${value} is above this server's maximum (${max[name]}); a job can only lower limits`);
    out[name] = value;
  }
  try {
    // The library's own ranges (e.g. memoryBytes ≥ 1 MiB) apply to the tightened values too.
    return resolveLimits(out, max);
  } catch (error) {
    throw new InvalidJobError(`limits: ${(error as Error).message}`);
  }
}

/** The job's builtin modules: the server's, or a subset of them. */
export function narrowModules(given: unknown, allowed: readonly string[]): readonly string[] {
  if (given === undefined || given === null) return [...allowed].sort();
  if (!Array.isArray(given) || given.length > allowed.length + 8) throw new InvalidJobError(`"modules" must be an array of builtin module names, at most the server's: ${allowed.join(", ") || "(none)"}`);
  const out = new Set<string>();
  for (const name of given) {
    if (typeof name !== "string") throw new InvalidJobError(`"modules" must hold module names (strings)`);
    if (!allowed.includes(name)) throw new InvalidJobError(`module ${quote(name)} is not allowed on this server; a job can only narrow its modules (${allowed.join(", ") || "none"})`);
    out.add(name);
  }
  return [...out].sort();
}

/**
 * Whether `data` (parsed JSON: plain objects, arrays, strings, numbers,
 * booleans, null) serializes to at most `max` characters. Stops as soon as it
 * knows it does not, so a huge job costs no more than `max` to refuse; walks
 * iteratively, so deep nesting cannot overflow the stack.
 */
export function jsonFitsIn(data: unknown, max: number): boolean {
  let size = 0;
  const stack: unknown[] = [data];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === "string") size += value.length + 2;
    else if (typeof value === "number" || typeof value === "boolean") size += String(value).length;
    else if (Array.isArray(value)) {
      size += value.length + 1;
      for (const item of value) stack.push(item);
    } else if (typeof value === "object" && value !== null) {
      const keys = Object.keys(value);
      size += keys.length + 1;
      for (const key of keys) {
        size += key.length + 3;
        stack.push((value as Record<string, unknown>)[key]);
      }
    } else size += 4;
    if (size > max) return false;
  }
  return true;
}

/** Whether parsed JSON `data` nests arrays/objects at most `max` levels deep (iterative: deep data cannot overflow it). */
export function nestedWithin(data: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[data, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    if (depth + 1 > max) return false;
    for (const item of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof item === "object" && item !== null) stack.push([item, depth + 1]);
    }
  }
  return true;
}

/** A stable key of a job's pool: equal limits and modules share a pool. */
export function poolKey(limits: Limits, modules: readonly string[]): string {
  return `${LIMIT_KEYS.map((k) => limits[k]).join(",")}|${modules.join(",")}`;
}
