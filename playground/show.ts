/**
 * Rendering guest-derived values as text for the playground's panels.
 *
 * Invariant: the work and the text are bounded by {@link MAX_CHARS}, whatever
 * the value. A result crosses the sandbox under a walk bound that counts each
 * node once per path, but a pretty-printer's output also grows with the
 * indentation: a chain 900 levels deep shared 1 000 times is ~1 MB as a tree
 * and gigabytes indented — `JSON.stringify(v, null, 2)` froze the page for
 * seconds and then threw. Every node visited here writes at least one
 * character, so stopping at the budget bounds the visits too. The text is
 * only ever put in the DOM with `textContent`.
 *
 * @packageDocumentation
 */

/** Most characters a panel gets. */
export const MAX_CHARS = 200_000;
/** Deeper than this, a value is shown as `…`. */
const MAX_DEPTH = 64;
/** Indentation stops growing past this depth (the deep part stays readable, not a wall of spaces). */
const MAX_INDENT = 16;
/** Longest string shown whole. */
const MAX_STRING = 20_000;

class Full extends Error {}

/** `value` as indented JSON-like text, at most {@link MAX_CHARS} characters (`… (truncated)` at the end if cut). */
export function show(value: unknown): string {
  const out: string[] = [];
  let size = 0;
  const put = (text: string): void => {
    const room = MAX_CHARS - size;
    if (text.length > room) {
      out.push(text.slice(0, Math.max(0, room)));
      size = MAX_CHARS;
      throw new Full();
    }
    out.push(text);
    size += text.length;
  };
  const pad = (depth: number): string => "\n" + "  ".repeat(Math.min(depth, MAX_INDENT));
  const str = (s: string): string => JSON.stringify(s.length > MAX_STRING ? s.slice(0, MAX_STRING) : s) + (s.length > MAX_STRING ? ` …(${s.length} characters)` : "");

  const walk = (v: unknown, depth: number): void => {
    switch (typeof v) {
      case "string": return put(str(v));
      case "bigint": return put(`${v}n`);
      case "number": return put(Object.is(v, -0) ? "-0" : String(v));
      case "boolean": return put(String(v));
      case "undefined": return put("undefined");
      case "symbol": return put("Symbol()");
      case "function": return put(`[function ${str(typeof v.name === "string" ? v.name : "")}]`);
    }
    if (v === null) return put("null");
    if (depth >= MAX_DEPTH) return put("…");
    const list = (open: string, close: string, items: Iterable<unknown>, each: (item: unknown) => void): void => {
      put(open);
      let any = false;
      for (const item of items) {
        put((any ? "," : "") + pad(depth + 1));
        each(item);
        any = true;
      }
      put((any ? pad(depth) : "") + close);
    };
    if (Array.isArray(v)) return list("[", "]", v, (item) => walk(item, depth + 1));
    if (v instanceof Map) {
      return list("Map {", "}", v, (entry) => {
        const [key, val] = entry as [unknown, unknown];
        walk(key, depth + 1);
        put(" => ");
        walk(val, depth + 1);
      });
    }
    if (v instanceof Set) return list("Set [", "]", v, (item) => walk(item, depth + 1));
    if (v instanceof Date) return put(Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString());
    if (v instanceof RegExp) return put(String(v).slice(0, MAX_STRING));
    if (v instanceof Error) return put(`${str(String(v.name))}: ${str(String(v.message))}`);
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
      const bytes = v instanceof ArrayBuffer ? v.byteLength : v.byteLength;
      return put(`${v.constructor.name}(${bytes} bytes)`);
    }
    list("{", "}", Object.keys(v as object), (key) => {
      put(str(key as string) + ": ");
      walk((v as Record<string, unknown>)[key as string], depth + 1);
    });
  };

  try {
    walk(value, 0);
  } catch (error) {
    if (!(error instanceof Full)) throw error;
    out.push(`\n… (truncated at ${MAX_CHARS} characters)`);
  }
  return out.join("");
}
