/**
 * The `verbose` option: where rexec reports the decisions it makes (limit hits,
 * denials, host-function calls). Off by default.
 *
 * Invariant: every line rexec logs is ONE line of inert, bounded text. Log lines
 * quote guest-chosen strings (module names, paths, error names, exit reasons);
 * a guest that could put a newline or an ANSI escape sequence in them could
 * forge log entries or rewrite the operator's terminal. So the logger itself —
 * not each call site — escapes control characters (C0, DEL, C1, U+2028/2029,
 * bidirectional overrides, lone surrogates) and cuts overlong lines, in one
 * linear pass.
 *
 * @packageDocumentation
 */

/** `false` (off), `true` (stderr), or a function that receives each line. */
export type Verbose = boolean | ((line: string) => void);

/** Longest line (in UTF-16 units, after escaping) a logger hands on. */
export const MAX_LOG_LINE = 2000;

/** Turn the option into a logging function. Every line it passes on went through {@link escapeLogLine}. */
export function makeLogger(verbose: Verbose | undefined): (line: string) => void {
  if (verbose === undefined || verbose === false) return () => {};
  if (verbose === true) return (line) => process.stderr.write(`rexec: ${escapeLogLine(line)}\n`);
  if (typeof verbose === "function") {
    return (line) => {
      try {
        verbose(escapeLogLine(line));
      } catch {
        // A failing logger must not change what the sandbox does.
      }
    };
  }
  throw new TypeError("options.verbose must be a boolean or a function (line: string) => void");
}

/** Does this UTF-16 unit have to be escaped in a log line? */
function unsafe(c: number): boolean {
  return (
    c < 0x20 || // C0, including \n \r \t and ESC (which starts every ANSI sequence)
    (c >= 0x7f && c <= 0x9f) || // DEL and C1 (0x9b is a one-byte CSI)
    c === 0x061c || // Arabic letter mark
    c === 0x200e || c === 0x200f || // LRM, RLM
    (c >= 0x2028 && c <= 0x202e) || // line/paragraph separators, bidi embeddings and overrides
    (c >= 0x2066 && c <= 0x2069) // bidi isolates
  );
}

const SHORT: Record<number, string> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r" };

function escapeUnit(c: number): string {
  return SHORT[c] ?? (c <= 0xff ? `\\x${c.toString(16).padStart(2, "0")}` : `\\u${c.toString(16).padStart(4, "0")}`);
}

/**
 * `line` as one line of printable text: control and bidi characters and lone
 * surrogates become `\n`, `\x1b`, `\u202e`-style escapes; text beyond
 * {@link MAX_LOG_LINE} is cut with a marker. Idempotent (backslashes are left
 * as they are), so a line logged through two loggers — a worker's and its
 * owner's — is escaped once. Linear in the part of `line` it keeps.
 */
export function escapeLogLine(line: string): string {
  const text = typeof line === "string" ? line : String(line);
  let out = "";
  let plainFrom = 0;
  let i = 0;
  for (; i < text.length; i++) {
    // Stop scanning once the line is certainly too long: the work stays bounded.
    if (out.length + (i - plainFrom) > MAX_LOG_LINE) break;
    const c = text.charCodeAt(i);
    let bad = unsafe(c);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a well-formed pair is printable text
        continue;
      }
      bad = true;
    }
    if (!bad) continue;
    out += text.slice(plainFrom, i) + escapeUnit(c);
    plainFrom = i + 1;
  }
  out += text.slice(plainFrom, Math.min(i, text.length));
  if (out.length <= MAX_LOG_LINE && i >= text.length) return out;
  // Cut well below the maximum, so that the marked line passes a second logger unchanged.
  let kept = out.slice(0, MAX_LOG_LINE - 50);
  const last = kept.charCodeAt(kept.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) kept = kept.slice(0, -1);
  return `${kept}… [log line cut: ${text.length} characters]`;
}
