/**
 * How `rexec` prints a guest value (an `eval` result, a REPL result, a thrown
 * non-Error).
 *
 * Invariant: printing a guest value costs the host a bounded amount of time and
 * output, whatever the value, and runs no guest code. A copied guest value can
 * be a DAG (`x = [x, x]` forty times is 41 guest nodes and 2^40 in a tree walk),
 * have 400k keys, 8 MB strings or keys, a million-bit BigInt (whose decimal
 * form is quadratic to compute) or functions under `toJSON`/`toString`; Node's
 * `util.inspect` bounds none of these (it has no key limit, and its own output
 * budget is 128 MiB). So the value is first pruned into a small host-made copy
 * — at most {@link PrintOptions.maxNodes} nodes, {@link PrintOptions.depth}
 * levels (so this walk's recursion is bounded too), cut strings, keys and
 * BigInts, functions replaced by their name — with a marker wherever something
 * was left out, and only that copy goes to `util.inspect`. The text is then cut
 * to `maxBytes` with a marker. Getters, `toJSON`, `toString`, `valueOf` and
 * `inspect.custom` of the guest value are never called: the walk reads own data
 * properties through descriptors only.
 *
 * @packageDocumentation
 */
import { inspect, types } from "node:util";

/** Limits of one printed value. */
export interface PrintOptions {
  /** Levels of nesting shown (as util.inspect's `depth`). */
  readonly depth: number;
  /** Entries of an array, object, Map or Set shown per container. */
  readonly maxEntries: number;
  /** Nodes (values at any depth, counting a shared one each time it is shown) in the whole value. */
  readonly maxNodes: number;
  /** Characters shown of one string, key or BigInt. */
  readonly maxString: number;
  /** Characters of all strings together. */
  readonly maxTotalString: number;
  /** Bytes (UTF-8) of the printed text; longer text is cut with a marker. */
  readonly maxBytes: number;
  /** ANSI colours, as util.inspect's `colors`. */
  readonly colors: boolean;
  /** Print a string value as itself rather than quoted (`rexec eval` does, the REPL does not). */
  readonly rawString: boolean;
}

/** What `rexec eval` and the REPL use unless told otherwise. */
export const DEFAULT_PRINT: PrintOptions = {
  depth: 6,
  maxEntries: 100,
  maxNodes: 5000,
  maxString: 10_000,
  maxTotalString: 256 * 1024,
  maxBytes: 1024 * 1024,
  colors: false,
  rawString: false,
};

/** A piece of text shown as-is by util.inspect, for the parts that were left out or replaced. */
class Shown {
  constructor(
    readonly text: string,
    readonly style: "special" | "regexp" | "date" | "bigint" | "undefined" = "undefined",
  ) {}
  [inspect.custom](_depth: number, options: { stylize(text: string, style: string): string }): string {
    return options.stylize(this.text, this.style);
  }
}

/**
 * A guest value as text, bounded by `options` in time and size, the way
 * util.inspect prints it (a top-level string raw if `rawString`).
 */
export function printValue(value: unknown, options: Partial<PrintOptions> = {}): string {
  const o: PrintOptions = { ...DEFAULT_PRINT, ...options };
  if (typeof value === "string" && o.rawString) return cutBytes(value, o.maxBytes);
  const copy = new Pruner(o).prune(value, 0);
  const text = inspect(copy, {
    depth: Infinity, // the copy is already depth-bounded; its cycles print as [Circular]
    maxArrayLength: Infinity,
    maxStringLength: Infinity,
    breakLength: 80,
    colors: o.colors,
    customInspect: true, // the copy holds only Shown markers, never a guest object
    getters: false,
    showProxy: false,
  });
  return cutBytes(text, o.maxBytes);
}

/** Printed text of a thrown non-Error value: strings as JSON (one line), the rest as util.inspect. */
export function printThrown(value: unknown, options: Partial<PrintOptions> = {}): string {
  const o: PrintOptions = { ...DEFAULT_PRINT, depth: 3, maxNodes: 500, maxBytes: 64 * 1024, ...options };
  if (typeof value === "string") return cutBytes(JSON.stringify(cutChars(value, o.maxBytes)), o.maxBytes);
  return printValue(value, o);
}

/** Cut `text` to at most `maxBytes` UTF-8 bytes, marking the cut. Linear in the kept part. */
export function cutBytes(text: string, maxBytes: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short text needs no encoding at all.
  if (text.length * 3 <= maxBytes) return text;
  const head = text.length > maxBytes ? text.slice(0, maxBytes) : text;
  const buffer = new Uint8Array(maxBytes);
  const { read } = new TextEncoder().encodeInto(head, buffer);
  if (read === text.length) return text;
  return `${text.slice(0, read)}\n… [output cut at ${maxBytes} bytes; the value's text is longer]`;
}

/** Cut a string to `max` UTF-16 units without splitting a surrogate pair. */
function cutChars(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return text.slice(0, end);
}

/** Does `value` have `proto` as its prototype? Never throws (a revoked Proxy would). */
function protoOf(value: object): object | null | undefined {
  try {
    return Object.getPrototypeOf(value) as object | null;
  } catch {
    return undefined;
  }
}

/** One pruning pass: a budget shared by the whole value. */
class Pruner {
  private nodes = 0;
  private strings = 0;
  /** Originals on the current path → their copies: a cycle stays a cycle. */
  private readonly path = new Map<object, unknown>();

  constructor(private readonly o: PrintOptions) {}

  /** A bounded, host-made copy of `value` at nesting `level`. */
  prune(value: unknown, level: number): unknown {
    this.nodes++;
    switch (typeof value) {
      case "string":
        return this.string(value);
      case "bigint":
        return this.bigint(value);
      case "function":
        return new Shown(functionLabel(value), "special");
      case "object":
        break;
      default:
        return value; // number, boolean, undefined, symbol
    }
    if (value === null) return null;
    const onPath = this.path.get(value);
    if (onPath !== undefined) return onPath;
    try {
      return this.object(value, level);
    } catch {
      // A host object that refuses to be read (a revoked Proxy…): say so, do not fail the print.
      return new Shown("[unreadable]", "special");
    } finally {
      this.path.delete(value);
    }
  }

  private string(value: string): unknown {
    const room = Math.max(0, Math.min(this.o.maxString, this.o.maxTotalString - this.strings));
    if (value.length <= room) {
      this.strings += value.length;
      return value;
    }
    const kept = cutChars(value, room);
    this.strings += kept.length;
    // As util.inspect's maxStringLength does: the kept part quoted, the marker after it.
    return new Shown(`${inspect(kept, { colors: this.o.colors })}... ${value.length - kept.length} more character${value.length - kept.length === 1 ? "" : "s"}`);
  }

  private bigint(value: bigint): unknown {
    // Decimal conversion is quadratic in the digits; hex is linear. 4096 bits ≈ 1234 digits, fast.
    const hex = (value < 0n ? -value : value).toString(16);
    if (hex.length <= 1024) return value;
    return new Shown(`${value < 0n ? "-" : ""}0x${hex.slice(0, 64)}…n (a ${hex.length * 4}-bit BigInt)`, "bigint");
  }

  private key(key: string): string {
    if (key.length <= 200) return key;
    return `${cutChars(key, 200)}… (${key.length} characters)`;
  }

  private label(value: object): string {
    if (Array.isArray(value)) return "[Array]";
    if (types.isMap(value)) return "[Map]";
    if (types.isSet(value)) return "[Set]";
    if (value instanceof Error) return "[Error]";
    return "[Object]";
  }

  private object(value: object, level: number): unknown {
    if (types.isDate(value)) return new Date(Date.prototype.getTime.call(value));
    if (types.isRegExp(value)) {
      const source = (value as RegExp).source;
      return new Shown(`/${source.length > 1000 ? `${cutChars(source, 1000)}…` : source}/${(value as RegExp).flags}`, "regexp");
    }
    // Buffers and views print at most maxArrayLength elements, in time bounded by it.
    if (types.isAnyArrayBuffer(value) || ArrayBuffer.isView(value)) {
      return new Shown(inspect(value, { maxArrayLength: this.o.maxEntries, colors: this.o.colors, customInspect: false, breakLength: Infinity }));
    }
    if (types.isProxy(value)) return new Shown("[Proxy]", "special");
    if (level > this.o.depth || this.nodes >= this.o.maxNodes) return new Shown(this.label(value), "special");
    if (value instanceof Error) return this.error(value, level);
    if (Array.isArray(value)) return this.array(value, level);
    if (types.isMap(value)) return this.map(value as Map<unknown, unknown>, level);
    if (types.isSet(value)) return this.set(value as Set<unknown>, level);
    return this.plain(value, level);
  }

  /** Room for more entries in this container, counting the whole value's budget. */
  private room(): boolean {
    return this.nodes < this.o.maxNodes;
  }

  private array(value: unknown[], level: number): unknown[] {
    const copy: unknown[] = [];
    this.path.set(value, copy);
    const length = value.length;
    const limit = Math.min(length, this.o.maxEntries);
    let i = 0;
    for (; i < limit && this.room(); i++) {
      const d = Object.getOwnPropertyDescriptor(value, i);
      if (d === undefined) {
        copy.length = i + 1; // a hole stays a hole
        this.nodes++;
      } else copy[i] = "value" in d ? this.prune(d.value, level + 1) : new Shown("[Getter/Setter]", "special");
    }
    if (i < length) copy.push(new Shown(`... ${length - i} more item${length - i === 1 ? "" : "s"}`));
    return copy;
  }

  private plain(value: object, level: number): object {
    const proto = protoOf(value);
    const copy: Record<string, unknown> = proto === null ? Object.create(null) : {};
    this.path.set(value, copy);
    const keys = Object.keys(value);
    // Listing the keys cost work for every one of them (~0.75 µs each for 400k keys):
    // charge what is not shown, so a DAG cannot make the host list a huge object twice.
    const limit = Math.min(keys.length, this.o.maxEntries);
    let i = 0;
    for (; i < limit && this.room(); i++) {
      const key = keys[i]!;
      const d = Object.getOwnPropertyDescriptor(value, key);
      const shown = d === undefined ? undefined : "value" in d ? this.prune(d.value, level + 1) : new Shown("[Getter/Setter]", "special");
      Object.defineProperty(copy, this.key(key), { value: shown, enumerable: true, configurable: true, writable: true });
    }
    this.nodes += keys.length - i;
    if (i < keys.length) {
      Object.defineProperty(copy, "...", { value: new Shown(`${keys.length - i} more key${keys.length - i === 1 ? "" : "s"}`), enumerable: true, configurable: true });
    }
    return copy;
  }

  private map(value: Map<unknown, unknown>, level: number): Map<unknown, unknown> {
    const copy = new Map<unknown, unknown>();
    this.path.set(value, copy);
    let shown = 0;
    for (const [k, v] of Map.prototype.entries.call(value) as IterableIterator<[unknown, unknown]>) {
      if (shown >= this.o.maxEntries || !this.room()) break;
      copy.set(this.prune(k, level + 1), this.prune(v, level + 1));
      shown++;
    }
    const size = Object.getOwnPropertyDescriptor(Map.prototype, "size")!.get!.call(value) as number;
    if (shown < size) copy.set(new Shown("..."), new Shown(`${size - shown} more entr${size - shown === 1 ? "y" : "ies"}`));
    return copy;
  }

  private set(value: Set<unknown>, level: number): Set<unknown> {
    const copy = new Set<unknown>();
    this.path.set(value, copy);
    let shown = 0;
    for (const v of Set.prototype.values.call(value) as IterableIterator<unknown>) {
      if (shown >= this.o.maxEntries || !this.room()) break;
      copy.add(this.prune(v, level + 1));
      shown++;
    }
    const size = Object.getOwnPropertyDescriptor(Set.prototype, "size")!.get!.call(value) as number;
    if (shown < size) copy.add(new Shown(`... ${size - shown} more item${size - shown === 1 ? "" : "s"}`));
    return copy;
  }

  /** An Error (a GuestError inside a result, say): its stack text, cut, and its own data keys. */
  private error(value: Error, level: number): unknown {
    const own = (key: string): unknown => Object.getOwnPropertyDescriptor(value, key)?.value;
    const guestName = own("guestName");
    const guestStack = own("guestStack");
    const stack = own("stack");
    const name = guestName ?? own("name");
    const message = own("message");
    const title = `${typeof name === "string" ? name : "Error"}: ${typeof message === "string" ? message : ""}`;
    // A guest Error arrives as a GuestError: shown as the guest's error (as node shows an Error:
    // its stack, bracketed only without one), never as the host class wrapping it.
    const head = typeof guestName === "string"
      ? typeof guestStack === "string" && guestStack.trim() !== "" ? `${title}\n${guestStack}` : `[${title}]`
      : typeof stack === "string" ? `[${stack}]` : `[${title}]`;
    void level; // its own keys are not shown: an Error prints as its stack, as a one-node leaf
    return new Shown(`${cutChars(head, this.o.maxString)}${head.length > this.o.maxString ? "…" : ""}`, "special");
  }
}

/** `[Function: name]` from the function's own `name` data property (never a getter). */
function functionLabel(fn: unknown): string {
  let name: unknown;
  try {
    name = Object.getOwnPropertyDescriptor(fn as object, "name")?.value;
  } catch {
    name = undefined;
  }
  return typeof name === "string" && name !== "" ? `[Function: ${cutChars(name, 200)}]` : "[Function (anonymous)]";
}
