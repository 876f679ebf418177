/**
 * The options of {@link PythonRExec} and its calls, and the checks its
 * constructor and methods apply to what callers pass (each with a message
 * that says what to pass instead).
 *
 * @packageDocumentation
 */
import { posix } from "node:path";
import type { Writable } from "node:stream";
import type { Limits } from "../host/limits.js";
import type { Verbose } from "../host/verbose.js";
import type { RHooks } from "../loader/types.js";
import { MODULE_NAME } from "./python-modules.js";

/** Where the s_* methods send guest output: a stream or a function. */
export type PythonOutputTarget = Pick<Writable, "write"> | ((text: string) => void);

/** Options of {@link PythonRExec}; the shared ones mean what they mean for `RExec`. */
export interface PythonRExecOptions {
  /** `"python"` (accepted so `new RExec({ language: "python" })` options can be passed as they are). */
  language?: "python";
  /** Where guest modules (`.py` files and packages) come from (default: an empty MemoryHooks). */
  hooks?: RHooks;
  verbose?: Verbose;
  /** Limits; `memoryBytes` defaults to 256 MiB for Python (the interpreter alone needs ~32 MiB). */
  limits?: Partial<Limits>;
  /** Host functions (plain Python functions to the guest) and values (copied in as globals). */
  globals?: Record<string, unknown>;
  /** What the s_* methods connect guest stdout/stderr to (default: the host's own streams). */
  stdio?: { stdin?: NodeJS.ReadableStream; stdout?: PythonOutputTarget; stderr?: PythonOutputTarget };
  /** Standard-library modules guest code may import (default: the class's `okBuiltinModules`). */
  okBuiltinModules?: readonly string[];
  /** Environment variables copied into the guest's `os.environ` (default: none). */
  okEnv?: readonly string[];
  /** `sys.argv` of the guest (default `["main.py"]`). */
  argv?: readonly string[];
  /** Quotas of the guest's in-memory file system (default 32 MiB, 2,000 files). */
  fileSystem?: { bytes?: number; files?: number };
  /** Keep a booted interpreter ready for the next sandbox of these limits (default true). */
  spare?: boolean;
}

/** Options of one eval/exec call. */
export interface PythonCallOptions {
  /** The file name tracebacks show (default `<eval>` / `<exec>`). */
  filename?: string;
}

/** Output of the most recent r_* call. */
export interface PythonOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** Absolute, normalised (no `.`, `..`, `//`, trailing `/`), without NUL, shorter than PATH_MAX: what the worker asks about. */
export function isCanonicalPath(path: string): boolean {
  return path.length < 4096 && path.startsWith("/") && !path.includes("\0") && posix.normalize(path) === path && (path === "/" || !path.endsWith("/"));
}

/** The stdio option's shape, checked up front (its targets are called later, far from the constructor). */
export function checkStdio(stdio: unknown): void {
  if (stdio === undefined) return;
  if (typeof stdio !== "object" || stdio === null) throw new TypeError("options.stdio must be an object like { stdin, stdout, stderr }");
  const { stdin, stdout, stderr } = stdio as Record<string, unknown>;
  for (const [name, target] of [["stdout", stdout], ["stderr", stderr]] as const) {
    if (target === undefined || typeof target === "function") continue;
    if (typeof target !== "object" || target === null || typeof (target as { write?: unknown }).write !== "function") {
      throw new TypeError(`stdio.${name} must be a writable stream or a function (text: string) => void`);
    }
  }
  if (stdin !== undefined && (typeof stdin !== "object" || stdin === null || typeof (stdin as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== "function")) {
    throw new TypeError("stdio.stdin must be a readable stream");
  }
}

export function strings(value: unknown, name: string): readonly string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new TypeError(`${name} must be an array of strings`);
  return Object.freeze([...value]);
}

export function wholeNumber(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new TypeError(`${name} must be a whole number ≥ 0`);
  return value;
}

export function moduleName(name: unknown, what: string): string {
  if (typeof name !== "string" || name.length > 512 || !MODULE_NAME.test(name)) throw new TypeError(`${what}: expected a Python module name like "calc" or "pkg.sub"`);
  return name;
}
