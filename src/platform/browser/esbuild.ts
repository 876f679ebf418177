/**
 * `esbuild` for the browser build. esbuild's native binary cannot run in a
 * page (esbuild-wasm would add ~10 MB), and the core uses it for three jobs:
 *
 * - `transformSync`: TypeScript → JavaScript, with sucrase (./typescript.ts,
 *   which says where it differs from esbuild).
 * - `buildSync` with a metafile, to learn whether a `.js` file uses ES module
 *   syntax (transpile.ts `detectModuleSyntax`): answered with acorn (already
 *   in the core's graph): code that does not parse as a script but parses as a
 *   module uses ESM syntax (import/export, import.meta, top-level await).
 * - `build` with a plugin, to list a module's literal import/require
 *   specifiers (module-loader.ts `scanImports`, which prefetches a graph whose
 *   hooks answer asynchronously — UrlHooks): answered by walking acorn's AST
 *   and reporting each literal specifier to the plugin's `onResolve`.
 *
 * A TypeScript `stdin` (loader `ts`) is first transpiled as above, so both
 * answers concern the JavaScript that will run (imports used only as types
 * are gone, as with esbuild).
 *
 * Security: input reaches acorn only after the core's own nesting bound
 * (`checkNesting`, the same that guards esbuild), and the AST walk here is
 * iterative, so guest-controlled nesting never sets the host's recursion depth.
 *
 * @packageDocumentation
 */
import { parse, type Node } from "acorn";
import { checkNesting } from "../../loader/transpile.js";
import { failure } from "./esbuild-failure.js";
import { transpileTs, type TranspileResult } from "./typescript.js";

/** The options transpile.ts passes (the rest — target, tsconfigRaw… — have no counterpart here). */
interface TransformOptions {
  loader?: string;
  format?: "cjs" | "esm";
  sourcefile?: string;
}

/**
 * esbuild's `transformSync` for `loader: "ts"`: the code, and its source map as
 * JSON text (transpile.ts maps stack positions through it). The caller has
 * already bounded the input's nesting (transpile.ts `checkNesting`).
 */
export function transformSync(source: string, options: TransformOptions = {}): TranspileResult {
  if (options.loader !== "ts" && options.loader !== "tsx") throw failure(`rexec (browser): the esbuild stand-in transforms TypeScript only, not loader "${String(options.loader)}"`);
  return transpileTs(source, options.sourcefile ?? "<stdin>", options.format);
}

export function stop(): void {}

type Format = "esm" | "cjs";

/** "esm" when `code` needs module goal to parse; throws a SyntaxError when it parses as neither. */
function moduleFormat(code: string): { format: Format; ast: Node } {
  try {
    return { format: "cjs", ast: parse(code, { ecmaVersion: "latest", sourceType: "script", allowHashBang: true, allowReturnOutsideFunction: true }) };
  } catch {
    return { format: "esm", ast: parse(code, { ecmaVersion: "latest", sourceType: "module", allowHashBang: true }) };
  }
}

interface StdinOptions {
  stdin?: { contents?: string; loader?: string; sourcefile?: string };
  plugins?: Array<{ name: string; setup(build: { onResolve(options: { filter: RegExp }, callback: (args: { path: string; kind: string }) => unknown): void }): void }>;
}

function source(options: StdinOptions): { code: string; file: string } {
  const stdin = options.stdin;
  if (!stdin || typeof stdin.contents !== "string") throw failure("rexec (browser): esbuild stand-in called without stdin");
  const file = stdin.sourcefile ?? "<stdin>";
  checkNesting(stdin.contents, file);
  if (stdin.loader === "ts" || stdin.loader === "tsx") return { code: transpileTs(stdin.contents, file, "esm").code, file };
  return { code: stdin.contents, file };
}

export function buildSync(options: StdinOptions): { metafile: { inputs: Record<string, { format: Format }> }; errors: []; warnings: [] } {
  const { code, file } = source(options);
  let format: Format;
  try {
    format = moduleFormat(code).format;
  } catch (e) {
    throw failure(e instanceof Error ? e.message : "syntax error");
  }
  return { metafile: { inputs: { [file]: { format } } }, errors: [], warnings: [] };
}

/** Every literal import/export-from/import()/require() specifier of `ast`, found without recursion. */
function literalSpecifiers(ast: Node): Array<{ path: string; kind: string }> {
  const found: Array<{ path: string; kind: string }> = [];
  const stack: unknown[] = [ast];
  const literal = (n: unknown): string | undefined => {
    const node = n as { type?: string; value?: unknown } | null;
    return node?.type === "Literal" && typeof node.value === "string" ? node.value : undefined;
  };
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown> | null;
    if (!node || typeof node !== "object") continue;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
      continue;
    }
    const type = node["type"];
    if (type === "ImportDeclaration" || type === "ExportNamedDeclaration" || type === "ExportAllDeclaration") {
      const s = literal(node["source"]);
      if (s !== undefined) found.push({ path: s, kind: "import-statement" });
    } else if (type === "ImportExpression") {
      const s = literal(node["source"]);
      if (s !== undefined) found.push({ path: s, kind: "dynamic-import" });
    } else if (type === "CallExpression") {
      const callee = node["callee"] as Record<string, unknown>;
      const args = node["arguments"] as unknown[];
      const s = args.length === 1 ? literal(args[0]) : undefined;
      // As esbuild's scan: require("x") only (it does not report require.resolve).
      if (s !== undefined && callee["type"] === "Identifier" && callee["name"] === "require") found.push({ path: s, kind: "require-call" });
    }
    for (const key of Object.keys(node)) {
      if (key === "type" || key === "start" || key === "end" || key === "loc" || key === "range") continue;
      const child = node[key];
      if (child && typeof child === "object") stack.push(child);
    }
  }
  return found;
}

export async function build(options: StdinOptions): Promise<{ errors: []; warnings: [] }> {
  const { code } = source(options);
  let ast: Node;
  try {
    ast = moduleFormat(code).ast;
  } catch (e) {
    throw failure(e instanceof Error ? e.message : "syntax error");
  }
  const callbacks: Array<(args: { path: string; kind: string }) => unknown> = [];
  for (const plugin of options.plugins ?? []) plugin.setup({ onResolve: (_options, callback) => void callbacks.push(callback) });
  for (const spec of literalSpecifiers(ast)) for (const callback of callbacks) callback(spec);
  return { errors: [], warnings: [] };
}

export default { transformSync, buildSync, build, stop };
