/**
 * The value codec of the worker boundary: what crosses between the host thread
 * and a worker thread that runs a realm.
 *
 * `postMessage` already copies almost everything the realm hands out (the
 * structured-clone algorithm keeps Maps, Sets, Dates, RegExps, typed arrays,
 * BigInts, holes and cycles). Two kinds of value it cannot carry:
 *
 * - **functions** — guest functions returned to the host, and host functions
 *   passed as globals or arguments. They become *markers* (`{ f: id, n: name }`)
 *   and the other side turns each marker into a proxy that calls back by id;
 * - **errors with a class** — `GuestError`, `TimeoutError`… arrive from
 *   structured clone as plain `Error`s without their fields. They become
 *   markers too (class name + own fields) and are rebuilt as the same class, so
 *   `instanceof GuestError` and `error.guestName` work in worker mode.
 *
 * Markers are recognised by *identity*: every marker object is also listed in
 * the message's `r` array, and structured clone preserves identity within one
 * message, so no user data can ever be mistaken for a marker.
 *
 * Every walk here is iterative. Values coming out of a worker were built by a
 * guest, which controls their nesting depth, and host code must never recurse
 * to a depth the guest controls (ENGINE-FACTS fact 2). Structured clone itself
 * *is* recursive, so {@link encodeValue} measures the depth in the order the
 * serializer walks and refuses values nested deeper than {@link MAX_DEPTH}.
 *
 * @packageDocumentation
 */
import { CloneError, MemoryLimitError, RExecError } from "../host/errors.js";
import * as PUBLIC_ERRORS from "../host/public-errors.js";
import { isImplicitCallName } from "../boundary/implicit-calls.js";
import { walkCost } from "./walk-bound.js";

/**
 * Deepest nesting that may cross the worker boundary. V8's deserializer
 * recurses once per level on the *receiving* thread (the host's main thread,
 * about 1 MB of stack), so this is kept well below where it would fail.
 */
export const MAX_DEPTH = 2000;

/** A value ready for `postMessage`: the payload and the markers inside it. */
export interface Wire {
  /** The payload, with functions and typed errors replaced by marker objects. */
  readonly v: unknown;
  /** Every marker object in `v` (identity, not equality, makes a marker). */
  readonly r: readonly Marker[];
}

/** A function crossing the boundary: its id on the sending side and its name. */
interface FunctionMarker {
  readonly f: number;
  readonly n: string;
}

/** An error crossing the boundary: class name, message, stack and other own fields. */
interface ErrorMarker {
  readonly e: string;
  readonly m: string;
  readonly s: string | undefined;
  /** Own enumerable fields (guestName, frames, code, limit…), themselves encoded. */
  readonly p: Record<string, unknown>;
}

type Marker = FunctionMarker | ErrorMarker;

/** Gives a function an id the other side can call it by. */
export type ExportFunction = (fn: (...args: never[]) => unknown) => number;
/** Makes the local callable for a function id sent by the other side. */
export type ImportFunction = (id: number, name: string) => (...args: any[]) => unknown;

/** The classes an error keeps across the boundary: rexec's public ones (the entries' one list) and the standard ones. */
const ERROR_CLASSES: Record<string, new (...args: any[]) => Error> = {
  ...(PUBLIC_ERRORS as unknown as Record<string, new (...args: any[]) => Error>),
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Leaves structured clone copies faithfully, so the walk does not enter them. */
function isLeafObject(v: object): boolean {
  return (
    v instanceof Date ||
    v instanceof RegExp ||
    v instanceof ArrayBuffer ||
    ArrayBuffer.isView(v) ||
    (typeof SharedArrayBuffer === "function" && v instanceof SharedArrayBuffer)
  );
}

/** The children structured clone visits, in its order. */
function childrenOf(v: object): unknown[] {
  if (v instanceof Map) {
    const out: unknown[] = [];
    for (const [k, x] of v) out.push(k, x);
    return out;
  }
  if (v instanceof Set) return [...v];
  if (v instanceof Error) {
    const out: unknown[] = [];
    for (const k of Object.keys(v)) out.push((v as unknown as Record<string, unknown>)[k]);
    return out;
  }
  const rec = v as Record<string, unknown>;
  return Object.keys(v).map((k) => rec[k]);
}

/**
 * Check `value` for what structured clone cannot carry, and measure its depth
 * in serializer order. Returns true when markers are needed.
 */
function scan(value: unknown): boolean {
  if (typeof value === "function") return true;
  if (typeof value !== "object" || value === null) return false;
  let needsMarkers = false;
  const seen = new Set<object>([value]);
  const stack: Array<{ items: unknown[]; i: number }> = [];
  const enter = (v: object): void => {
    if (v instanceof Error) needsMarkers = true;
    if (isLeafObject(v)) return;
    if (stack.length >= MAX_DEPTH) throw new CloneError(`value is nested deeper than ${MAX_DEPTH} levels and cannot cross the worker boundary; return a flatter value`);
    stack.push({ items: childrenOf(v), i: 0 });
  };
  enter(value);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.items.length) {
      stack.pop();
      continue;
    }
    const child = top.items[top.i++];
    if (typeof child === "function") needsMarkers = true;
    else if (typeof child === "object" && child !== null && !seen.has(child)) {
      seen.add(child);
      enter(child);
    }
  }
  return needsMarkers;
}

function defineData(target: object, key: string, value: unknown): void {
  // defineProperty, not assignment: a `__proto__` key stays a plain data key.
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The class name an error is rebuilt as on the other side. */
function errorClassName(error: Error): string {
  for (let proto = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === "string" && Object.hasOwn(ERROR_CLASSES, name) && ERROR_CLASSES[name]!.prototype === proto) return name;
  }
  return "Error";
}

/**
 * Prepare `value` for `postMessage`. Functions get an id from `exportFunction`;
 * errors keep their class and fields. Throws {@link CloneError} for a value
 * nested deeper than {@link MAX_DEPTH}.
 */
export function encodeValue(value: unknown, exportFunction: ExportFunction): Wire {
  if (!scan(value)) return { v: value, r: [] };
  const markers: Marker[] = [];
  const copies = new Map<unknown, unknown>();
  const work: Array<() => void> = [];

  const conv = (v: unknown): unknown => {
    if (typeof v === "function") {
      const marker: FunctionMarker = { f: exportFunction(v as (...args: never[]) => unknown), n: typeof v.name === "string" ? v.name.slice(0, 200) : "" };
      markers.push(marker);
      return marker;
    }
    if (typeof v !== "object" || v === null || isLeafObject(v)) return v;
    const done = copies.get(v);
    if (done !== undefined) return done;
    if (v instanceof Error) {
      const props: Record<string, unknown> = {};
      const marker: ErrorMarker = { e: errorClassName(v), m: String(v.message), s: typeof v.stack === "string" ? v.stack : undefined, p: props };
      copies.set(v, marker);
      markers.push(marker);
      const source = v as unknown as Record<string, unknown>;
      const keys = Object.keys(v).filter((k) => k !== "message" && k !== "stack");
      // `name` usually lives on the prototype; the other side needs it for plain Errors.
      if (!keys.includes("name") && typeof v.name === "string") defineData(props, "name", v.name);
      work.push(() => {
        for (const k of keys) defineData(props, k, conv(source[k]));
      });
      return marker;
    }
    if (v instanceof Map) {
      const copy = new Map();
      copies.set(v, copy);
      work.push(() => {
        for (const [k, x] of v) copy.set(conv(k), conv(x));
      });
      return copy;
    }
    if (v instanceof Set) {
      const copy = new Set();
      copies.set(v, copy);
      work.push(() => {
        for (const x of v) copy.add(conv(x));
      });
      return copy;
    }
    const copy = (Array.isArray(v) ? new Array(v.length) : {}) as Record<string, unknown>;
    copies.set(v, copy);
    const source = v as Record<string, unknown>;
    work.push(() => {
      for (const k of Object.keys(source)) defineData(copy, k, conv(source[k]));
    });
    return copy;
  };

  const root = conv(value);
  while (work.length > 0) work.pop()!();
  return { v: root, r: markers };
}

/**
 * Checks the host thread applies to guest-derived values from a worker
 * (defense in depth: the realm's own decoder in the worker does the same).
 */
export interface GuestValueChecks {
  /** Most tree-walk units the value may cost (`limits.resultBytes`); see walk-bound.ts. */
  readonly walkLimit: number;
}

/**
 * Rebuild a value received from the other side: markers become function
 * proxies (from `importFunction`) and typed errors of the same class.
 *
 * With `guest` (the host thread decoding what a worker sent): a function
 * under an implicit-call name (`then`, `toJSON`, `toString`, … — see
 * implicit-calls.ts) is left out, so host built-ins never call guest code on
 * their own; and a value that would cost more than `guest.walkLimit` to walk
 * as a tree is refused with a {@link MemoryLimitError} before it is built.
 */
export function decodeValue(wire: Wire, importFunction: ImportFunction, guest?: GuestValueChecks): unknown {
  if (guest !== undefined && walkCost(wire?.v, guest.walkLimit) > guest.walkLimit) {
    throw new MemoryLimitError(
      "resultBytes",
      guest.walkLimit,
      " when walked as a tree (a shared reference counts every time a walk such as JSON.stringify or util.inspect reaches it)",
    );
  }
  if (!wire || wire.r.length === 0) return wire?.v;
  const markers = new Map<object, Marker>();
  for (const m of wire.r) markers.set(m, m);
  const replaced = new Map<object, unknown>();
  const errors: Array<{ error: Error; marker: ErrorMarker }> = [];
  const seen = new Set<object>();
  const pending: object[] = [];

  const swap = (v: unknown): unknown => {
    if (typeof v !== "object" || v === null) return v;
    const marker = markers.get(v);
    if (marker === undefined) {
      if (!seen.has(v)) {
        seen.add(v);
        pending.push(v);
      }
      return v;
    }
    if (replaced.has(v)) return replaced.get(v);
    let out: unknown;
    if ("f" in marker) out = importFunction(marker.f, marker.n);
    else {
      const error = rebuildError(marker);
      errors.push({ error, marker });
      // The fields are decoded like any other value, then copied onto the error.
      seen.add(marker.p);
      pending.push(marker.p);
      out = error;
    }
    replaced.set(v, out);
    return out;
  };

  const root = swap(wire.v);
  while (pending.length > 0) {
    const v = pending.pop()!;
    if (v instanceof Map) {
      const entries = [...v].map(([k, x]) => [swap(k), swap(x)] as const);
      v.clear();
      for (const [k, x] of entries) v.set(k, x);
    } else if (v instanceof Set) {
      const items = [...v].map(swap);
      v.clear();
      for (const x of items) v.add(x);
    } else if (!isLeafObject(v)) {
      const rec = v as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        const x = rec[k];
        const y = swap(x);
        // See implicit-calls.ts: `{ toJSON() {…} }` from a guest arrives as `{}`.
        if (guest !== undefined && typeof y === "function" && isImplicitCallName(k)) delete rec[k];
        else if (y !== x) defineData(rec, k, y);
      }
    }
  }
  for (const { error, marker } of errors) {
    const builtin = !(error instanceof RExecError);
    for (const k of Object.keys(marker.p)) {
      if (k === "name" && builtin) continue;
      defineData(error, k, marker.p[k]);
    }
    // A plain Error keeps a custom name (e.g. "AbortError") as a non-enumerable
    // own property, the way `err.name = …` on a native error would look.
    const name = marker.p.name;
    if (builtin && typeof name === "string" && name !== error.name) {
      Object.defineProperty(error, "name", { value: name, writable: true, configurable: true, enumerable: false });
    }
  }
  return root;
}

/** An error of the marker's class, built without running its constructor (whose arguments differ per class). */
function rebuildError(marker: ErrorMarker): Error {
  const cls = Object.hasOwn(ERROR_CLASSES, marker.e) ? ERROR_CLASSES[marker.e]! : Error;
  // Reflect.construct(Error, …, cls) makes a real Error (with its internal slot,
  // so util.types.isNativeError holds) whose prototype is cls.prototype.
  const error = Reflect.construct(Error, [marker.m], cls) as Error;
  if (marker.s !== undefined) Object.defineProperty(error, "stack", { value: marker.s, writable: true, configurable: true, enumerable: false });
  return error;
}

/** Encode an error (or any thrown value) for the other side. */
export function encodeError(error: unknown, exportFunction: ExportFunction): Wire {
  try {
    return encodeValue(error, exportFunction);
  } catch (e) {
    // An error whose fields cannot cross still arrives, as a CloneError saying so.
    return encodeValue(new CloneError(`an error could not cross the worker boundary: ${e instanceof Error ? e.message : String(e)}`), exportFunction);
  }
}
