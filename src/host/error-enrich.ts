/**
 * Better messages and positions for two common guest errors, from the source
 * text the engine compiled.
 *
 * QuickJS-ng (0.12.1 in this build) records source positions only at
 * expression statements, `throw`, `new`, call argument lists and right
 * operands of binary operators — never at a property access or a variable
 * initialiser. A failing property read therefore reports the last recorded
 * position, which may be the start of the function or of an earlier statement
 * (`const r =\n  d.items.map(f)` with `d.items` undefined is reported at 1:1),
 * and a failed call says only "not a function". Classic QuickJS records the
 * access itself. The engine cannot be changed without rebuilding the wasm, so
 * the host improves the report: it finds the access or call the engine meant
 * in the source, near the reported position.
 *
 * Invariant: this runs on guest-controlled text (message and source) on the
 * host, so it is linear and bounded — it reads at most {@link WINDOW_BEFORE} +
 * {@link WINDOW_AFTER} characters around the position, once, and never uses a
 * backtracking regular expression on guest text. Named callees are capped at
 * {@link MAX_NAME} characters. It is a heuristic: when the source allows more
 * than one reading, it names every candidate instead of guessing one.
 *
 * Which errors it may run on is decided by the caller (EvalMemory.mapError, eval-memory.ts): only
 * when the guest stack's first line is a guest frame ({@link noteStackTop}) —
 * a native function that threw (`[1].forEach(undefined)`) reports the position
 * of its caller's call, and naming that callee would blame the wrong function.
 *
 * @packageDocumentation
 */
import { MAX_STACK_SCAN, parseGuestStack } from "../boundary/guest-stack.js";

/** Where and what the engine reported for a thrown error. */
export interface EngineErrorSite {
  /** The error's message as the engine wrote it (e.g. `not a function`). */
  readonly message: string;
  /** 1-based line in `source`, as in the guest stack's top frame. */
  readonly line: number;
  /** 1-based column, as in the guest stack's top frame. */
  readonly column: number;
}

/** An improved report: a clearer message and/or a corrected position (same coordinates as the input). */
export interface EnrichedErrorSite {
  readonly message: string;
  readonly line: number;
  readonly column: number;
}

/** Characters read before the reported position (calls may start lines earlier). */
export const WINDOW_BEFORE = 4096;
/** Characters read after the reported position (QuickJS-ng may report a position well before the access). */
export const WINDOW_AFTER = 16384;
/** Longest callee or object text quoted in a message. */
export const MAX_NAME = 60;

const NOT_A_FUNCTION = "not a function";
const PROPERTY_PREFIXES = ["cannot read property '", "cannot set property '"] as const;
/** Keywords after which `(` is not a call, and before which a chain does not start. */
const NOT_CALLEES = new Set(["if", "for", "while", "switch", "catch", "with", "return", "typeof", "void", "delete", "await", "yield", "in", "of", "instanceof", "case", "do", "else", "throw", "function", "class", "new", "const", "let", "var", "import", "export"]);

/**
 * Improve an engine error from the source it was thrown in.
 *
 * - `not a function`: names the callee (`d.foo is not a function`, `o.K is not
 *   a constructor`) and moves the position to it; with nested calls the engine
 *   may point at either, and both are named (`foo or bar is not a function`).
 * - `cannot read property 'p' of undefined` (and `set`, and `of null`): moves
 *   the position to the first `.p` / `?.p` / `["p"]` access at or after the
 *   reported position in the same block, and names the object expression.
 *
 * @param site - the engine's message and the top frame's position in `source`.
 * @param source - exactly the text the engine compiled for that frame's file
 *   (for CommonJS, the wrapped code; for TypeScript, the transpiled code): map
 *   the returned position to the original file afterwards, as for any frame.
 * @returns the improved report, or `undefined` when there is nothing to improve
 *   (other messages, a position outside the source, nothing found).
 */
export function enrichEngineError(site: EngineErrorSite, source: string): EnrichedErrorSite | undefined {
  if (typeof site.message !== "string" || typeof source !== "string") return undefined;
  const offset = offsetOf(source, site.line, site.column);
  if (offset === undefined) return undefined;
  if (site.message === NOT_A_FUNCTION) return enrichCall(source, offset);
  for (const prefix of PROPERTY_PREFIXES) {
    if (site.message.startsWith(prefix) && site.message.length <= prefix.length + 1024) {
      const end = site.message.indexOf("' of ", prefix.length);
      const rest = end < 0 ? "" : site.message.slice(end + 5);
      if (rest !== "undefined" && rest !== "null") return undefined;
      return enrichAccess(source, offset, site.message.slice(prefix.length, end), site.message);
    }
  }
  return undefined;
}

/** Errors whose raw guest stack started with a guest frame (not a native or rexec-internal one). */
const guestTopFrame = new WeakSet<object>();

/**
 * Remember whether `stack` (the raw guest `error.stack` that `error` was made
 * from) starts with a frame in guest code. The parsed frames drop native and
 * rexec-internal frames, so only the raw text tells whether the top parsed
 * frame is where the error was thrown. Reads only the first line (at most
 * {@link MAX_STACK_SCAN} characters).
 */
export function noteStackTop(error: object, stack: string): void {
  const scan = stack.length > MAX_STACK_SCAN ? stack.slice(0, MAX_STACK_SCAN) : stack;
  const nl = scan.indexOf("\n");
  if (parseGuestStack(nl < 0 ? scan : scan.slice(0, nl)).length === 1) guestTopFrame.add(error);
}

/** Whether {@link noteStackTop} saw a guest frame at the top of `error`'s raw stack. */
export function hasGuestTopFrame(error: object): boolean {
  return guestTopFrame.has(error);
}

// --- positions ---------------------------------------------------------------

/** Offset of a 1-based line/column in `source`, or undefined when outside it. */
function offsetOf(source: string, line: number, column: number): number | undefined {
  if (!Number.isSafeInteger(line) || !Number.isSafeInteger(column) || line < 1 || column < 1) return undefined;
  let at = 0;
  for (let l = 1; l < line; l++) {
    const nl = source.indexOf("\n", at);
    if (nl < 0) return undefined;
    at = nl + 1;
  }
  const lineEnd = source.indexOf("\n", at);
  const offset = at + column - 1;
  return offset <= (lineEnd < 0 ? source.length : lineEnd) ? offset : undefined;
}

/** 1-based line and column of an offset (counting only within the scanned window's source). */
function positionOf(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let nl = source.indexOf("\n"); nl >= 0 && nl < offset; nl = source.indexOf("\n", nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

// --- a small forward tokenizer -------------------------------------------------

type TokenKind = "name" | "string" | "number" | "punct" | "template";
interface Token {
  readonly kind: TokenKind;
  readonly start: number;
  readonly end: number;
  /** Source text for names and punctuators (strings: the literal's value when simple). */
  readonly text: string;
}

const isIdStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95 || c === 35 || c >= 128;
const isIdPart = (c: number) => isIdStart(c) || (c >= 48 && c <= 57);
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12 || c === 0xa0 || c === 0xfeff || c === 0x2028 || c === 0x2029;

/**
 * Tokens of `source` in [from, to). Approximate where JavaScript is ambiguous
 * without a parser (regular expression literals are read as punctuators;
 * template substitutions are skipped with the template): a misread only makes
 * the result less precise, and every character is visited once.
 */
function* tokens(source: string, from: number, to: number): Generator<Token> {
  let i = from;
  while (i < to) {
    const c = source.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === 47 && source.charCodeAt(i + 1) === 47) {
      const nl = source.indexOf("\n", i);
      i = nl < 0 || nl > to ? to : nl;
      continue;
    }
    if (c === 47 && source.charCodeAt(i + 1) === 42) {
      const close = source.indexOf("*/", i + 2);
      i = close < 0 || close > to ? to : close + 2;
      continue;
    }
    if (c === 34 || c === 39) {
      i++;
      let simple = true;
      while (i < to) {
        const d = source.charCodeAt(i);
        if (d === 92) {
          simple = false;
          i += 2;
          continue;
        }
        if (d === c || d === 10) break;
        i++;
      }
      const end = Math.min(i + 1, to);
      i = end;
      yield { kind: "string", start, end, text: simple ? source.slice(start + 1, end - 1) : "" };
      continue;
    }
    if (c === 96) {
      i++;
      while (i < to) {
        const d = source.charCodeAt(i);
        if (d === 92) {
          i += 2;
          continue;
        }
        if (d === 96) break;
        i++;
      }
      i = Math.min(i + 1, to);
      yield { kind: "template", start, end: i, text: "`" };
      continue;
    }
    if (isIdStart(c)) {
      i++;
      while (i < to && isIdPart(source.charCodeAt(i))) i++;
      yield { kind: "name", start, end: i, text: source.slice(start, i) };
      continue;
    }
    if (c >= 48 && c <= 57) {
      i++;
      while (i < to && (isIdPart(source.charCodeAt(i)) || source.charCodeAt(i) === 46)) i++;
      yield { kind: "number", start, end: i, text: "" };
      continue;
    }
    if (c === 63 && source.charCodeAt(i + 1) === 46 && !(source.charCodeAt(i + 2) >= 48 && source.charCodeAt(i + 2) <= 57)) {
      i += 2;
      yield { kind: "punct", start, end: i, text: "?." };
      continue;
    }
    i++;
    yield { kind: "punct", start, end: i, text: source[start]! };
  }
}

// --- calls and accesses ----------------------------------------------------------

interface Call {
  /** Start of the callee expression (the member chain before `(`). */
  readonly calleeStart: number;
  /** Start of the callee's last name (`foo` in `d.foo(`), or the callee start. */
  readonly nameStart: number;
  readonly open: number;
  /** First token inside the parentheses. */
  argStart: number;
  /** Offset of the closing parenthesis (the window's end while unclosed). */
  close: number;
  readonly isNew: boolean;
}

interface Access {
  /** Offset of `.`, `?.` or `[`. */
  readonly at: number;
  readonly name: string;
  readonly objectStart: number;
  /** Before the reported position's block was entered, or after it was closed. */
  readonly outside: boolean;
}

interface Scan {
  readonly calls: Call[];
  readonly accesses: Access[];
}

/** A bracket open during the scan, and the member chain that was running before it. */
interface Frame {
  readonly kind: "(" | "[" | "{";
  readonly call: Call | undefined;
  readonly chainStart: number;
  readonly lastName: number;
  readonly chainNew: boolean;
  /** For `obj[…]` / `obj?.[…]`: offset of `[` or `?.`. */
  readonly accessAt: number | undefined;
  /** The first token inside the bracket. */
  first: Token | undefined;
}

/**
 * One pass over [from, to): every call (with its callee chain) and every named
 * property access (`.p`, `?.p`, `["p"]`). Accesses after the scan left the block
 * holding `startOffset` are marked `outside`.
 */
function scan(source: string, from: number, to: number, startOffset: number): Scan {
  const calls: Call[] = [];
  const accesses: Access[] = [];
  const stack: Frame[] = [];
  let startDepth: number | undefined;
  let left = false; // the scan has closed the block that holds startOffset
  let chainStart = -1; // start of the running member chain, or -1
  let lastName = -1; // start of the chain's last name
  let chainNew = false; // the chain follows `new`
  let prev: Token | undefined;
  const addAccess = (at: number, name: string, objectStart: number) => {
    accesses.push({ at, name, objectStart, outside: left || startDepth === undefined });
  };
  for (const tok of tokens(source, from, to)) {
    if (startDepth === undefined && tok.start >= startOffset) startDepth = stack.length;
    const top = stack[stack.length - 1];
    if (top && top.first === undefined) {
      top.first = tok;
      if (top.call) top.call.argStart = tok.start;
    }
    const afterDot = prev?.kind === "punct" && (prev.text === "." || prev.text === "?.");
    if (tok.kind === "name") {
      if (afterDot && chainStart >= 0) {
        addAccess(prev!.start, tok.text, chainStart);
        lastName = tok.start;
      } else if (!NOT_CALLEES.has(tok.text)) {
        chainNew = prev?.kind === "name" && prev.text === "new";
        chainStart = tok.start;
        lastName = tok.start;
      } else {
        chainStart = -1;
      }
    } else if (tok.kind === "punct") {
      const t = tok.text;
      const chainable = chainStart >= 0 && prev !== undefined && (prev.kind === "name" || prev.kind === "template" || (prev.kind === "punct" && (prev.text === ")" || prev.text === "]")));
      if (t === "(") {
        const call: Call | undefined = chainable ? { calleeStart: chainStart, nameStart: lastName, open: tok.start, argStart: tok.start + 1, close: to, isNew: chainNew } : undefined;
        if (call) calls.push(call);
        stack.push({ kind: "(", call, chainStart, lastName, chainNew, accessAt: undefined, first: undefined });
        chainStart = -1;
      } else if (t === "[") {
        const optional = prev?.kind === "punct" && prev.text === "?." && chainStart >= 0;
        const accessAt = chainable ? tok.start : optional ? prev!.start : undefined;
        stack.push({ kind: "[", call: undefined, chainStart: accessAt === undefined ? -1 : chainStart, lastName, chainNew, accessAt, first: undefined });
        chainStart = -1;
      } else if (t === "{") {
        stack.push({ kind: "{", call: undefined, chainStart: -1, lastName: -1, chainNew: false, accessAt: undefined, first: undefined });
        chainStart = -1;
      } else if (t === ")" || t === "]" || t === "}") {
        const frame = stack.pop();
        if (startDepth !== undefined && stack.length < startDepth) left = true;
        chainStart = -1;
        if (frame?.call && t === ")") {
          // a(…).b: the chain goes on from the callee's start.
          frame.call.close = tok.start;
          chainStart = frame.chainStart;
          lastName = frame.lastName;
          chainNew = false;
        } else if (frame?.accessAt !== undefined && t === "]") {
          // obj["name"]: a named access when the brackets hold exactly one simple string.
          if (frame.first?.kind === "string" && frame.first === prev && frame.first.text !== "") addAccess(frame.accessAt, frame.first.text, frame.chainStart);
          chainStart = frame.chainStart;
          lastName = frame.lastName;
          chainNew = frame.chainNew;
        }
      } else if (t !== "." && t !== "?.") {
        chainStart = -1;
      }
    } else if (tok.kind !== "template") {
      // A string or number ends any chain; a template after a chain is a tagged call, which we do not name.
      chainStart = -1;
    }
    prev = tok;
  }
  return { calls, accesses };
}

/** Callee or object text for a message: whitespace collapsed, capped. */
function quote(source: string, start: number, end: number): string {
  const text = source.slice(start, Math.min(end, start + MAX_NAME * 4)).replace(/\s+/g, " ").trim();
  return text.length > MAX_NAME ? `${text.slice(0, MAX_NAME - 1)}…` : text;
}

/** Where the scan starts: up to WINDOW_BEFORE characters back, at a line start when there is one in that range. */
function windowStart(source: string, offset: number): number {
  const floor = Math.max(0, offset - WINDOW_BEFORE);
  if (floor === 0) return 0;
  const nl = source.indexOf("\n", floor);
  return nl >= 0 && nl < offset ? nl + 1 : floor;
}

function enrichCall(source: string, offset: number): EnrichedErrorSite | undefined {
  const from = windowStart(source, offset);
  const to = Math.min(source.length, offset + WINDOW_AFTER);
  const { calls } = scan(source, from, to, offset);
  const containing = calls.filter((c) => c.calleeStart <= offset && offset <= c.close);
  if (containing.length === 0) return undefined;
  // The engine points at the callee's name, its parenthesis or its first argument.
  const pointed = containing.filter((c) => c.nameStart === offset || c.open === offset || c.argStart === offset || c.calleeStart === offset);
  const candidates = pointed.length > 0 ? pointed : containing.length === 1 ? containing : [];
  if (candidates.length === 0) return undefined;
  const names = [...new Set(candidates.map((c) => quote(source, c.calleeStart, c.open)))].filter((n) => n !== "");
  if (names.length === 0) return undefined;
  const what = candidates.every((c) => c.isNew) ? "a constructor" : "a function";
  const message = `${names.slice(0, 3).join(" or ")} is not ${what}`;
  // One candidate: point at its name (it may start lines before the engine's position). Several: keep the engine's.
  const { line, column } = positionOf(source, names.length === 1 ? candidates[0]!.nameStart : offset);
  return { message, line, column };
}

function enrichAccess(source: string, offset: number, name: string, message: string): EnrichedErrorSite | undefined {
  const from = windowStart(source, offset);
  const to = Math.min(source.length, offset + WINDOW_AFTER);
  const { accesses } = scan(source, from, to, offset);
  // The first access of that name from the reported position on, not in an enclosing block's end.
  const found = accesses.find((a) => a.at >= offset && a.name === name && !a.outside);
  if (!found) return undefined;
  const object = quote(source, found.objectStart, found.at);
  const { line, column } = positionOf(source, found.at);
  return { message: object === "" ? message : `${message} (reading ${object}${source[found.at] === "[" ? "[…]" : "." + name})`, line, column };
}
