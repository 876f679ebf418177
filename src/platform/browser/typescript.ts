/**
 * TypeScript → JavaScript in the browser build, with sucrase (pure JavaScript,
 * ~0.2 MB minified; esbuild-wasm would add ~10 MB). Types are stripped, enums
 * become objects, parameter properties become assignments; nothing else is
 * lowered (the engine runs ES2023+ as written), and nothing is type-checked —
 * as with esbuild on Node.
 *
 * Where it differs from esbuild (the README's browser section lists these):
 * - `namespace`/`module` blocks that declare values are refused with a clear
 *   error ({@link refuseValueNamespaces}); sucrase would silently drop them
 *   (it treats every namespace as types only), leaving the guest a
 *   ReferenceError far from the cause. Type-only and `declare` ones work.
 * - Decorators pass through unchanged (esbuild lowers them), and the engine
 *   has none: a SyntaxError. `const enum` is emitted as a regular enum.
 *
 * Security (invariant: no guest source can hang or crash the page's thread
 * here): input arrives only after the core's `checkNesting` (brackets ≤ 1000
 * deep, prefix-operator chains ≤ 10 000), sucrase's parser and transformers are
 * linear in the token count (~1 s for 2 MB in Node), and its parser recurses
 * per nesting level and per binary operator: a stack overflow — on input the
 * nesting check does not count (`A<A<A<…>>>` type arguments, `a + a + …` with
 * ~6 000+ terms in Node's default stack) or near its limits (~900 `[`) — is a
 * RangeError caught here and reported as the input's syntax error, never a
 * crash (the parser's state is module-level and reset by the next parse). The namespace check walks the token array
 * iteratively. Backtracking (exponential on nested ambiguous arrows) is
 * bounded linearly in the input by a budget on rewinds ({@link budgeted}).
 *
 * @packageDocumentation
 */
import { transform } from "sucrase";
import { parse, type SucraseToken } from "sucrase/dist/esm/parser/index.js";
import { TokenType as tt } from "sucrase/dist/esm/parser/tokenizer/types.js";
import { ContextualKeyword as ck } from "sucrase/dist/esm/parser/tokenizer/keywords.js";
import State, { type SucraseSnapshot } from "sucrase/dist/esm/parser/tokenizer/state.js";
import { failure } from "./esbuild-failure.js";

/**
 * The parser's backtracking budget. sucrase resolves TypeScript's ambiguities
 * (is `(b): c => …` an arrow with a return type, or the branch of a
 * conditional?) by parsing ahead and rewinding to a snapshot, and nested
 * ambiguities multiply: `a ? (b): c => ` repeated 30 times (400 bytes) takes
 * 2^30 steps. Parsing work is the input's length plus everything re-read after
 * rewinds, so charging each rewind its length against a budget linear in the
 * input bounds the whole parse linearly; past it the input is refused.
 * Measured: ~3 000 rewound characters per ms, so the base is ~0.3 s of
 * backtracking and a 1 MB input may backtrack ~6 s at most. Legitimate code
 * rewinds a few characters per ambiguity; what the budget refuses besides
 * hostile input is one expression of many hundreds of comma-separated `a < b`
 * comparisons (sucrase re-reads each as a possible type argument list: quadratic).
 */
const REWIND_PER_CHAR = 20;
const REWIND_BASE = 1_000_000;
let rewindBudget = Infinity;

class TooComplex extends Error {}

// This bundle's own copy of sucrase's parser state (never anything of the page).
const restore = State.prototype.restoreFromSnapshot;
State.prototype.restoreFromSnapshot = function restoreFromSnapshot(this: State, snapshot: SucraseSnapshot): void {
  rewindBudget -= Math.max(0, this.pos - snapshot.pos);
  if (rewindBudget < 0) throw new TooComplex();
  restore.call(this, snapshot);
};

/** Run one sucrase parse of `source` under the backtracking budget. */
function budgeted<T>(source: string, run: () => T): T {
  rewindBudget = REWIND_BASE + REWIND_PER_CHAR * source.length;
  try {
    return run();
  } finally {
    rewindBudget = Infinity;
  }
}

/** The parts of esbuild's `transformSync` result transpile.ts reads. */
export interface TranspileResult {
  code: string;
  /** A source map (JSON text) from `code` back to the TypeScript. */
  map: string;
  warnings: [];
}

/** Tokens that make a value inside a namespace (what sucrase would drop). */
const VALUE_TOKENS = new Set([tt["_var"], tt["_let"], tt["_const"], tt["_function"], tt["_class"], tt["_enum"]]);

/**
 * Transpile one TypeScript module.
 *
 * @param format - `"cjs"`: `import`/`export` become `require`/`exports` (the
 *   loader runs the code in a CommonJS wrapper), as esbuild's `format: "cjs"`;
 *   otherwise ES module syntax is kept.
 * @throws esbuild's failure shape, with the 1-based line and 0-based column of
 *   the syntax error, or without a location when the input is too deeply nested.
 */
export function transpileTs(source: string, sourcefile: string, format: "cjs" | "esm" | undefined): TranspileResult {
  let result: ReturnType<typeof transform>;
  try {
    result = budgeted(source, () => transform(source, {
      transforms: format === "cjs" ? ["typescript", "imports"] : ["typescript"],
      filePath: sourcefile,
      sourceMapOptions: { compiledFilename: sourcefile },
      // Only TypeScript is removed; class fields, `?.`, `??` stay as written (the engine has them).
      disableESTransforms: true,
      // As esbuild with verbatimModuleSyntax false (transpile.ts): imports used only as types vanish.
      keepUnusedImports: false,
      // As esbuild's cjs output: `import()` stays a dynamic import, not a require.
      preserveDynamicImport: true,
    }));
  } catch (e) {
    throw asFailure(e, sourcefile);
  }
  if (/\b(?:namespace|module)\b/.test(source)) refuseValueNamespaces(source, sourcefile);
  return { code: result.code, map: JSON.stringify(result.sourceMap), warnings: [] };
}

/** A sucrase error (message `Error transforming <file>: <text> (<line>:<col>)`, `loc` 1-based) as esbuild's failure. */
function asFailure(e: unknown, sourcefile: string): Error {
  if (e instanceof TooComplex) {
    return failure("too complex for the TypeScript transpiler (its parser would re-read the input too many times: deeply nested ambiguous arrow functions, type arguments or conditionals)");
  }
  if (e instanceof RangeError) {
    // The parser ran out of stack: nesting the core's bracket count does not see, or one
    // expression of thousands of binary operators (sucrase recurses per operator; esbuild loops).
    return failure("too deeply nested for the TypeScript transpiler (its parser ran out of stack: nesting, or thousands of operators in one expression)");
  }
  if (!(e instanceof Error)) return failure("the TypeScript transpiler failed");
  const prefix = `Error transforming ${sourcefile}: `;
  let text = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  text = text.replace(/ \(\d+:\d+\)$/, "");
  const loc = (e as { loc?: { line?: unknown; column?: unknown } }).loc;
  const located = loc && typeof loc.line === "number" && typeof loc.column === "number";
  return failure(text.slice(0, 500), located ? { line: loc.line as number, column: (loc.column as number) - 1 } : null);
}

/** 1-based line and 0-based column of `pos` in `source`. */
function locate(source: string, pos: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = source.indexOf("\n"); i !== -1 && i < pos; i = source.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: pos - start };
}

/**
 * Refuse a non-`declare` `namespace X { … }` / `module X { … }` that declares
 * a value (var/let/const/function/class/enum not itself `declare`d): sucrase
 * removes every namespace as if it held only types.
 */
function refuseValueNamespaces(source: string, sourcefile: string): void {
  let tokens: SucraseToken[];
  try {
    tokens = budgeted(source, () => parse(source, false, true, false).tokens);
  } catch (e) {
    throw asFailure(e, sourcefile);
  }
  // One pass with a stack of brace kinds: the body of a checked namespace, of a declared one, or other.
  const stack: Array<{ kind: "ns" | "declared" | "other"; header: number }> = [];
  let declaredDepth = 0;
  let pending: "ns" | "declared" | undefined; // a namespace header seen, its `{` not yet
  let header = 0; // where that header starts
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const type = t.type;
    if (t.isType && (t.contextualKeyword === ck["_namespace"] || t.contextualKeyword === ck["_module"]) && tokens[i + 1]?.type === tt["name"]) {
      pending = declaredDepth > 0 || (i > 0 && isDeclare(tokens[i - 1]!)) ? "declared" : "ns";
      header = t.start;
    } else if (type === tt["braceL"] || type === tt["dollarBraceL"]) {
      const kind = pending ?? "other";
      pending = undefined;
      stack.push({ kind, header });
      if (kind === "declared") declaredDepth++;
    } else if (type === tt["braceR"]) {
      if (stack.pop()?.kind === "declared") declaredDepth--;
    } else if (VALUE_TOKENS.has(type) && stack[stack.length - 1]?.kind === "ns" && !isDeclare(tokens[i - 1]!)) {
      throw failure("a TypeScript namespace that declares values is not supported in rexec's browser build (its transpiler, sucrase, keeps only type namespaces): use a plain object or a module", locate(source, stack[stack.length - 1]!.header));
    }
  }
}

function isDeclare(t: SucraseToken): boolean {
  return t.type === tt["_declare"] || t.contextualKeyword === ck["_declare"];
}
