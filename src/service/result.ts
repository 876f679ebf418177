/**
 * What a run answers, as JSON: `{ value, stdout, stderr, stats }` or
 * `{ error: { name, message, ... }, stdout, stderr, stats }`, and which
 * failures are the guest's (final: never retried) and which are the
 * service's (retryable).
 *
 * Invariant: everything here is guest-derived and already bounded by the
 * run's limits (`resultBytes` for the value, `outputBytes` for the output);
 * the conversion to JSON walks it with a depth bound and never calls guest
 * code (values arrive as host copies; dead guest functions are dropped, not called).
 *
 * @packageDocumentation
 */
import {
  CloneError,
  GuestError,
  LimitError,
  ModuleNotFoundError,
  RestrictedError,
  SystemExit,
} from "../host/errors.js";
import type { PoolRunStats } from "../pool/pool.js";

/** Stats of one run as the service reports them. */
export interface RunStats extends PoolRunStats {
  /** Time the job waited for a free thread, in ms. */
  readonly queuedMs: number;
}

/** The JSON of a failed run's `error`. */
export interface ErrorBody {
  /** The error class, e.g. `"GuestError"`, `"TimeoutError"`, `"SystemExit"`. */
  readonly name: string;
  readonly message: string;
  /** GuestError: the guest's own error name (`"TypeError"`…). */
  readonly guestName?: string;
  /** GuestError: the guest stack (guest files and lines only). */
  readonly stack?: string;
  /** Limit errors: the limit that was hit and its value. */
  readonly limit?: string;
  readonly limitValue?: number;
  /** SystemExit: the guest's exit code. */
  readonly code?: number;
  /** RestrictedError: what was denied. */
  readonly denied?: string;
}

/** The answer of one run. */
export type RunResult =
  | { readonly value: unknown; readonly stdout: string; readonly stderr: string; readonly stats: RunStats }
  | { readonly error: ErrorBody; readonly stdout: string; readonly stderr: string; readonly stats: RunStats | undefined };

/** Longest message or stack text copied into an answer. */
const MAX_TEXT = 8 * 1024;
/** Deepest value nesting sent as JSON (values are bounded in bytes already; this bounds recursion). */
export const MAX_JSON_DEPTH = 256;

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}… (${text.length} characters)` : text;
}

/**
 * Whether `error` is the guest's own outcome — it threw, exited, hit a limit,
 * asked for something denied, or returned what cannot be copied. Such a
 * result is final: running the same job again would give the same answer.
 */
export function isGuestOutcome(error: unknown): boolean {
  return error instanceof GuestError || error instanceof LimitError || error instanceof SystemExit
    || error instanceof RestrictedError || error instanceof ModuleNotFoundError || error instanceof CloneError;
}

/** The error classes a metrics label may name (anything else is `"Error"`: label values stay few). */
const KNOWN_NAMES = new Set([
  "GuestError", "TimeoutError", "MemoryLimitError", "StackLimitError", "OutputLimitError", "RestrictedError",
  "ModuleNotFoundError", "SystemExit", "CloneError", "DisposedError", "AbortError", "RExecError", "QueueFullError",
  "InvalidJobError", "PoolsBusyError", "ShuttingDownError", "TypeError", "RangeError",
]);

/** The error's class name if it is one rexec reports, else `"Error"`. */
export function errorType(error: unknown): string {
  const name = error instanceof Error ? error.name : "";
  return KNOWN_NAMES.has(name) ? name : "Error";
}

/** `error` as the JSON of an answer's `error` field. */
export function errorBody(error: unknown): ErrorBody {
  if (!(error instanceof Error)) return { name: "Error", message: "the run failed with a value that is not an error" };
  const body: { -readonly [K in keyof ErrorBody]: ErrorBody[K] } = { name: errorType(error) === "Error" ? "Error" : error.name, message: clip(String(error.message)) };
  if (error instanceof GuestError) {
    body.guestName = clip(error.guestName);
    body.stack = clip(error.guestStack);
  }
  if (error instanceof LimitError) {
    body.limit = error.limit;
    body.limitValue = error.value;
  }
  if (error instanceof SystemExit) body.code = error.code;
  if (error instanceof RestrictedError) body.denied = error.denied;
  return body;
}

/**
 * A completion value as JSON data: `undefined` → `null` (and left out of
 * objects, as `JSON.stringify` does), bigint → decimal string, Date → ISO
 * string, Map → array of `[key, value]`, Set → array, typed arrays → arrays of
 * numbers, Error → `{ name, message }`, functions and symbols → dropped (`null`
 * in arrays), non-finite numbers → `null`.
 *
 * @throws {@link CloneError} for a cycle or nesting deeper than {@link MAX_JSON_DEPTH}
 */
export function toJsonValue(value: unknown): unknown {
  return convert(value, new Set(), 0);
}

function convert(value: unknown, ancestors: Set<object>, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      // undefined, functions, symbols
      return undefined;
  }
  if (value === null) return null;
  if (depth >= MAX_JSON_DEPTH) throw new CloneError(`the result is nested deeper than ${MAX_JSON_DEPTH} levels and cannot be sent as JSON`);
  if (ancestors.has(value)) throw new CloneError("the result contains a cycle and cannot be sent as JSON");
  ancestors.add(value);
  try {
    const next = (item: unknown): unknown => convert(item, ancestors, depth + 1);
    const inArray = (item: unknown): unknown => next(item) ?? null;
    if (Array.isArray(value)) return value.map(inArray);
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (value instanceof Map) return [...value].map(([k, v]) => [inArray(k), inArray(v)]);
    if (value instanceof Set) return [...value].map(inArray);
    if (ArrayBuffer.isView(value)) return value instanceof DataView ? [] : Array.from(value as unknown as ArrayLike<number | bigint>, (n) => (typeof n === "bigint" ? n.toString() : n));
    if (value instanceof ArrayBuffer) return Array.from(new Uint8Array(value));
    if (value instanceof Error) return { name: clip(String(value.name)), message: clip(String(value.message)) };
    if (value instanceof RegExp) return String(value);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const converted = next((value as Record<string, unknown>)[key]);
      // defineProperty: a guest key "__proto__" stays a key (assignment would set the prototype).
      if (converted !== undefined) Object.defineProperty(out, key, { value: converted, enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}
