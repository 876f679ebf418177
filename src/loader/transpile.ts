/**
 * TypeScript → JavaScript for guest modules, and ESM syntax detection, both with
 * esbuild (host side; the guest never sees esbuild).
 *
 * Transpiling only strips types (and lowers TS-only constructs such as `enum`
 * and `namespace`); no bundling, no module resolution, nothing read from disk —
 * esbuild's `transformSync` sees only the source string, so a guest file cannot
 * make the host read a `tsconfig.json` or anything else.
 *
 * @packageDocumentation
 */

import { buildSync, transformSync, type Message, type TransformFailure } from "esbuild";
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
 * @throws SyntaxError `"<id>:<line>:<col>: <message>"` for invalid TypeScript.
 */
export function transpileTypeScript(source: string, id: string, format: "module" | "commonjs" | undefined): TranspiledModule {
  let result;
  try {
    result = transformSync(source, {
      loader: "ts",
      target: "es2022",
      format: format === "commonjs" ? "cjs" : undefined,
      sourcemap: "external",
      sourcefile: id,
      sourcesContent: false,
      logLevel: "silent",
      // Fixed options, so behaviour never depends on a tsconfig anywhere.
      tsconfigRaw: { compilerOptions: { useDefineForClassFields: true, verbatimModuleSyntax: false, experimentalDecorators: false } },
    });
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
 * error with its own position when it runs the code.
 */
export function detectModuleSyntax(code: string): boolean {
  // Every form of ESM syntax needs one of these words; without them, no parse is needed.
  if (!/\b(?:import|export|await)\b/.test(code)) return false;
  try {
    const result = buildSync({
      stdin: { contents: code, loader: "js", sourcefile: "detect.js" },
      write: false,
      bundle: false,
      metafile: true,
      logLevel: "silent",
    });
    return Object.values(result.metafile.inputs).some((input) => input.format === "esm");
  } catch {
    return false;
  }
}
