/**
 * TypeScript → JavaScript for guest modules, and ESM syntax detection, both with
 * esbuild (host side; the guest never sees esbuild).
 *
 * Transpiling only strips types (and lowers TS-only constructs such as `enum`
 * and `namespace`); no bundling, no module resolution, nothing read from disk —
 * esbuild's `transformSync` sees only the source string, so a guest file cannot
 * make the host read a `tsconfig.json` or anything else.
 *
 * Invariant (security): no guest source can stop esbuild's helper process for
 * the host. esbuild's Go parser recurses once per nesting level and its process
 * dies of a stack overflow (a ~30 KB Go trace on the host's stderr, and every
 * later esbuild call in the process failing) somewhere between 150 000 and
 * 300 000 levels (measured with esbuild 0.28.2: `!`×150 000 parses, ×200 000
 * crashes; `(`×100 000 parses, ×300 000 crashes). {@link checkNesting} refuses
 * input far below that; should the service die anyway, {@link callEsbuild}
 * restarts it and reports a typed error.
 *
 * @packageDocumentation
 */

import type { Message, TransformFailure } from "esbuild";
import { esbuildApi } from "./esbuild-api.js";
import { GREATEST_LOWER_BOUND, LEAST_UPPER_BOUND, originalPositionFor, TraceMap } from "@jridgewell/trace-mapping";

/** The result of {@link transpileTypeScript}. */
export interface TranspiledModule {
  /** JavaScript for the engine. */
  readonly code: string;
  /**
   * Map a position in {@link TranspiledModule.code} back to the `.ts` source.
   * Both `line` and `column` are **1-based**, as in stack traces (`file:line:col`),
   * in and out. `undefined` when the position maps to nothing in the source.
   */
  mapPosition(line: number, column: number): { line: number; column: number } | undefined;
}

/** Format an esbuild message as `id:line:col: text` (1-based line and column). */
function describe(id: string, m: Message): string {
  const loc = m.location;
  return loc ? `${id}:${loc.line}:${loc.column + 1}: ${m.text}` : `${id}: ${m.text}`;
}

/** Deepest bracket nesting `(`/`[`/`{` handed to esbuild (it overflows at ~100 000+). */
export const MAX_NESTING = 1000;
/**
 * Most recursion-inducing operators (prefix `!~+-`, `typeof`…, right-associative
 * `=`, `=>`, `?:`) in one comma/semicolon-separated stretch at one bracket level
 * handed to esbuild (it overflows at ~150 000+).
 */
export const MAX_CHAIN = 10_000;

// Words that start a prefix expression or type (each one a parser recursion).
const PREFIX_WORDS = new Set(["typeof", "void", "delete", "await", "yield", "new", "keyof", "readonly", "infer", "unique", "asserts", "async", "abstract"]);

/**
 * Refuse input nested or chained deeper than esbuild's parser survives, in one
 * linear pass. Deliberately conservative: brackets and operators are counted
 * even inside strings, comments and regular expressions (a lexer here would be
 * a second parser for an attacker to confuse), so legitimate code can only be
 * refused if it is absurd, never admitted wrongly. Binary operators such as
 * `+`, `*`, `&&` are left-associative (a loop in esbuild, not a recursion) and
 * count only in prefix position.
 *
 * @throws SyntaxError naming the limit.
 */
export function checkNesting(source: string, id: string): void {
  let depth = 0;
  let chain = 0;
  const outer: number[] = []; // the chain count of each enclosing bracket level
  let prev = 0; // previous non-space char code, 0 at the start: decides prefix +/-
  let line = 1;
  let newline = false; // a line break since the previous non-space char
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    switch (c) {
      case 0x0a: line++; newline = true; continue; // \n
      case 0x20: case 0x09: case 0x0d: continue;
      case 0x28: case 0x5b: case 0x7b: // ( [ {
        if (++depth > MAX_NESTING) throw new SyntaxError(`${id}:${line}: brackets nest deeper than the limit ${MAX_NESTING}`);
        outer.push(chain);
        chain = 0;
        break;
      case 0x29: case 0x5d: case 0x7d: // ) ] }
        // An unmatched closer is not esbuild's problem; depth never goes negative.
        if (depth > 0) { depth--; chain = outer.pop()!; }
        break;
      case 0x2c: case 0x3b: chain = 0; break; // , ;
      case 0x21: case 0x7e: case 0x3d: case 0x3f: case 0x3a: case 0x40: // ! ~ = ? : @
        chain++;
        break;
      case 0x2b: case 0x2d: // + -  prefix when after an operator or an opening bracket
        if (prev === 0 || !isOperand(prev)) chain++;
        break;
      default:
        if (isWordChar(c)) {
          // Operand, line break, word: a new statement in semicolon-less code (ASI), so
          // the chain ends. An operator on either side of the break would continue it.
          if (newline && prev !== 0 && isOperand(prev)) chain = 0;
          let j = i + 1;
          while (j < source.length && isWordChar(source.charCodeAt(j))) j++;
          if (j - i <= 10 && PREFIX_WORDS.has(source.slice(i, j))) chain++;
          i = j - 1;
        }
    }
    if (chain > MAX_CHAIN) throw new SyntaxError(`${id}:${line}: operators chain deeper than the limit ${MAX_CHAIN} in one expression`);
    prev = c;
    newline = false;
  }
}

/** Could this char end an operand (so a following `+`/`-` is binary)? */
function isOperand(c: number): boolean {
  return isWordChar(c) || c === 0x29 || c === 0x5d || c === 0x7d || c === 0x22 || c === 0x27 || c === 0x60;
}

function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24 || c > 0x7f;
}

/** Is this error esbuild's report that its helper process died? */
function serviceDied(e: unknown): boolean {
  return e instanceof Error && !Array.isArray((e as Partial<TransformFailure>).errors) &&
    /The service (was stopped|is no longer running)/.test(e.message);
}

/**
 * Run an esbuild call; if the helper process died (it does not restart on its
 * own — every later call would fail "The service is no longer running"),
 * `stop()` discards the dead service so the next call starts a fresh one, and
 * the caller gets a typed error instead of esbuild's bare one.
 */
function callEsbuild<T>(id: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (!serviceDied(e)) throw e;
    esbuildApi().stop();
    throw new RangeError(`${id}: the TypeScript transpiler crashed on this input (too deeply nested?)`);
  }
}

/**
 * Transpile a TypeScript module.
 *
 * - ESM syntax is kept as it is (the loader evaluates ESM as ESM), except when
 *   `format` is `commonjs` (a `.cts` file, or a `.ts` file in a package with
 *   `"type": "commonjs"`): there, as `tsc` does, `import`/`export` statements
 *   become `require`/`module.exports`, because the loader will run the code in a
 *   CommonJS wrapper where ESM syntax is a syntax error.
 * - Target ES2022; enums, namespaces, generics, parameter properties, `satisfies`,
 *   `import x = require()` work; `import type` and unused type-only imports vanish.
 *
 * @param source - the `.ts`/`.mts`/`.cts` text.
 * @param id - the module's canonical id; used in error messages and the source map.
 * @param format - the module format the loader will use, if known.
 * @throws SyntaxError `"<id>:<line>:<col>: <message>"` for invalid TypeScript,
 *   or naming the limit for input nested deeper than {@link checkNesting} allows.
 * @throws RangeError if esbuild's helper process died anyway (it is restarted).
 */
export function transpileTypeScript(source: string, id: string, format: "module" | "commonjs" | undefined): TranspiledModule {
  checkNesting(source, id);
  let result;
  try {
    result = callEsbuild(id, () => esbuildApi().transformSync(source, {
      loader: "ts",
      target: "es2022",
      format: format === "commonjs" ? "cjs" : undefined,
      sourcemap: "external",
      sourcefile: id,
      sourcesContent: false,
      logLevel: "silent",
      // Fixed options, so behaviour never depends on a tsconfig anywhere.
      tsconfigRaw: { compilerOptions: { useDefineForClassFields: true, verbatimModuleSyntax: false, experimentalDecorators: false } },
    }));
  } catch (e) {
    const errors = (e as Partial<TransformFailure>).errors;
    if (!Array.isArray(errors) || errors.length === 0) throw e;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? "s" : ""})` : "";
    throw new SyntaxError(describe(id, errors[0]!) + more);
  }
  const code = result.code;
  const rawMap = result.map;
  let traced: TraceMap | undefined;
  return {
    code,
    mapPosition(line: number, column: number) {
      if (!Number.isInteger(line) || !Number.isInteger(column) || line < 1 || column < 1) return undefined;
      traced ??= new TraceMap(rawMap);
      // A position inside whitespace or a generated helper maps to the nearest token before it (or after).
      for (const bias of [GREATEST_LOWER_BOUND, LEAST_UPPER_BOUND] as const) {
        const p = originalPositionFor(traced, { line, column: column - 1, bias });
        if (p.line !== null) return { line: p.line, column: p.column + 1 };
      }
      return undefined;
    },
  };
}

/**
 * Does this JavaScript use ES module syntax — static `import`/`export`,
 * `import.meta`, or top-level `await`? Used for `.js` files whose format is not
 * fixed by an extension or package.json `type` (Node 22's detection, in spirit).
 * Dynamic `import()` alone does not count (it is valid in CommonJS).
 *
 * esbuild parses the code (without bundling or resolving) and reports the
 * file's module format in its metafile: `esm` exactly when such syntax occurs.
 * Code that does not parse returns `false`, so the engine reports the syntax
 * error with its own position when it runs the code. So does code nested too
 * deeply for esbuild (see {@link checkNesting}): the engine then refuses it.
 */
export function detectModuleSyntax(code: string): boolean {
  // Every form of ESM syntax needs one of these words; without them, no parse is needed.
  if (!/\b(?:import|export|await)\b/.test(code)) return false;
  try {
    checkNesting(code, "detect.js");
    const result = callEsbuild("detect.js", () => esbuildApi().buildSync({
      stdin: { contents: code, loader: "js", sourcefile: "detect.js" },
      write: false,
      bundle: false,
      metafile: true,
      logLevel: "silent",
    }));
    return Object.values(result.metafile.inputs).some((input) => input.format === "esm");
  } catch {
    return false;
  }
}
