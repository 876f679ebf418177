/**
 * What `r_eval`/`r_exec` hand the engine: the host's code made ready for a
 * script evaluation with the conveniences of Node's REPL and `deno eval` —
 * TypeScript when asked for, top-level `await`, and static `import`.
 *
 * Invariant: the rewrite never changes the line structure (insertions contain
 * no line breaks), and every position in the rewritten code maps back to the
 * host's own text ({@link PreparedEval.mapPosition}), so guest stacks and code
 * frames point at the lines the host wrote. Code that needs no rewrite is
 * passed on unchanged (same semantics as before, no parse cost); code that
 * does not parse is passed on unchanged too, so the engine reports the syntax
 * error at its own position.
 *
 * The code is the host's (not guest-derived), so parsing it on the host is the
 * host's own cost; acorn is linear and, like esbuild, refused input nested
 * deeper than {@link checkNesting} allows (a recursive parser on the host).
 *
 * The top-level-await rewrite follows Node's REPL (lib/internal/repl/await.js,
 * same parser): the code runs inside `(async () => { … })()`, declarations at
 * top level are hoisted out of it (`let`/`const`/`class` as `let`, `var` and
 * functions as `var`) so later calls see them, and a final expression
 * statement becomes the function's return value — the completion value.
 *
 * @packageDocumentation
 */
import type { Node, Program } from "acorn";
import { acornApi, acornWalkApi } from "./acorn-api.js";
import { checkNesting, transpileTypeScript } from "../loader/transpile.js";

/** Code ready for `evalScript`, with the way back to the host's positions. */
export interface PreparedEval {
  /** What the engine evaluates. */
  readonly code: string;
  /** 1-based line/column in {@link code} → the host's text; absent when the code is unchanged. */
  readonly mapPosition?: (line: number, column: number) => { line: number; column: number } | undefined;
  /** Specifiers of static imports (turned into `import()`), for asynchronous hooks to fetch ahead. */
  readonly imports: readonly string[];
  /** Literal `require("…")` specifiers, for asynchronous hooks to fetch ahead. */
  readonly requires: readonly string[];
  /** The code refers to a variable `require` (not in a string or as a property name): the realm's global `require` must exist. */
  readonly usesRequire: boolean;
}

type Mapper = (line: number, column: number) => { line: number; column: number } | undefined;

/**
 * Prepare `source` for a script evaluation.
 *
 * @param typescript - strip types first (esbuild, as for `.ts` modules).
 * @throws SyntaxError `"<filename>:<line>:<col>: <message>"` for invalid TypeScript.
 */
export function prepareEval(source: string, filename: string, typescript: boolean): PreparedEval {
  let js = source;
  let tsMap: Mapper | undefined;
  if (typescript) {
    const transpiled = transpileTypeScript(source, filename, undefined);
    js = transpiled.code;
    tsMap = transpiled.mapPosition;
  }
  const mentionsRequire = /\brequire\b/.test(js);
  const rewritten = /\b(?:await|import)\b/.test(js) || mentionsRequire ? rewrite(js, filename) : undefined;
  const code = rewritten?.code ?? js;
  let mapPosition: Mapper | undefined;
  if (rewritten?.map && tsMap) {
    const inner = rewritten.map;
    const outer = tsMap;
    mapPosition = (line, column) => {
      const p = inner(line, column);
      return p && outer(p.line, p.column);
    };
  } else mapPosition = rewritten?.map ?? tsMap;
  return { code, mapPosition, imports: rewritten?.imports ?? [], requires: rewritten?.requires ?? [], usesRequire: rewritten?.usesRequire ?? false };
}

interface Rewritten {
  readonly code: string | undefined;
  readonly map: Mapper | undefined;
  readonly imports: string[];
  readonly requires: string[];
  readonly usesRequire: boolean;
}

/** Parse as a script (top-level await allowed), else as a module (for `import`); undefined if neither parses. */
function parseEither(code: string): { program: Program; module: boolean } | undefined {
  for (const sourceType of ["script", "module"] as const) {
    try {
      return { program: acornApi().parse(code, { ecmaVersion: "latest", sourceType, allowAwaitOutsideFunction: true, allowHashBang: true }), module: sourceType === "module" };
    } catch {
      // try the next kind; the engine reports a real syntax error itself
    }
  }
  return undefined;
}

/** The rewrite of {@link prepareEval}; `code` is undefined when none is needed. */
function rewrite(source: string, filename: string): Rewritten {
  const none: Rewritten = { code: undefined, map: undefined, imports: [], requires: [], usesRequire: false };
  try {
    checkNesting(source, filename);
  } catch {
    return none; // too deep for a host-side parse: the engine decides (and refuses what it cannot take)
  }
  const parsed = parseEither(source);
  if (!parsed) return none;
  const { program } = parsed;
  const state = new RewriteState(source, program);
  acornWalkApi().recursive(program, state, visitors as never);
  const imports = state.imports;
  const usesRequire = refersTo(program, "require");
  if (!state.containsAwait && !parsed.module) return { ...none, requires: state.requires, usesRequire };
  // Exports make no sense in an evaluation: leave them for the engine to refuse.
  if (program.body.some((n) => n.type === "ExportNamedDeclaration" || n.type === "ExportDefaultDeclaration" || n.type === "ExportAllDeclaration")) return none;
  const last = program.body[program.body.length - 1];
  if (last?.type === "ExpressionStatement") {
    // At the statement's start: acorn leaves an expression's own parentheses
    // out of its range, so `({ a: 1 })` would otherwise become `(return (…`.
    state.prepend(last, "return (");
    state.append(last.expression, ")");
  }
  const prefix = `${state.hoisted.join("")}(async () => { `;
  const suffix = "\n})()";
  return { ...buildOutput(source, state.pieces, prefix, suffix), imports, requires: state.requires, usesRequire };
}

/** Does the code refer to a variable `name` anywhere (functions included; not strings, not property names)? */
function refersTo(program: Program, name: string): boolean {
  let found = false;
  acornWalkApi().simple(program, {
    Identifier(node) {
      if ((node as unknown as { name: string }).name === name) found = true;
    },
  });
  return found;
}

/** Edits as a piece table: `pieces[i]` is what source character `i` becomes. */
class RewriteState {
  readonly pieces: string[];
  readonly hoisted: string[] = [];
  readonly imports: string[] = [];
  readonly requires: string[] = [];
  readonly ancestors: Node[] = [];
  containsAwait = false;

  constructor(source: string, readonly program: Program) {
    this.pieces = source.split("");
  }

  replace(from: number, to: number, text: string): void {
    for (let i = from; i < to; i++) this.pieces[i] = "";
    this.pieces[from] = from === to ? text + (this.pieces[from] ?? "") : text;
  }

  prepend(node: Node, text: string): void {
    this.pieces[node.start] = text + this.pieces[node.start];
  }

  append(node: Node, text: string): void {
    this.pieces[node.end - 1] += text;
  }
}

// acorn-walk's node types are stricter than this walk needs; nodes are read structurally.
type Walker = (node: any, state: RewriteState, c: (n: any, s: RewriteState) => void) => void;
type Visitors = Record<string, Walker>;
const baseWalk = (): Record<string, Walker> => acornWalkApi().base as unknown as Record<string, Walker>;
const skip = (): void => {};

/** Names a declaration pattern binds. */
function boundNames(pattern: Node | null | undefined, out: string[]): string[] {
  if (!pattern) return out;
  const p = pattern as Node & Record<string, any>;
  switch (p.type) {
    case "Identifier": out.push(p.name); break;
    case "ObjectPattern": for (const prop of p.properties) boundNames(prop.type === "RestElement" ? prop.argument : prop.value, out); break;
    case "ArrayPattern": for (const element of p.elements) boundNames(element, out); break;
    case "AssignmentPattern": boundNames(p.left, out); break;
    case "RestElement": boundNames(p.argument, out); break;
  }
  return out;
}

function isTopLevel(state: RewriteState, node: Node): boolean {
  return state.program.body.includes(node as never);
}

function withAncestor(node: Node, state: RewriteState, c: (n: any, s: RewriteState) => void, visit: Walker): void {
  state.ancestors.push(node);
  try {
    visit(node, state, c);
  } finally {
    state.ancestors.pop();
  }
}

const visitors: Visitors = {
  // Code inside functions is not top level: nothing there is rewritten (a
  // `require` inside still counts, read from the text by prepareEval).
  FunctionExpression: skip,
  ArrowFunctionExpression: skip,
  MethodDefinition: skip,
  PropertyDefinition: skip,
  StaticBlock: skip,
  FunctionDeclaration(node, state) {
    const name = (node as unknown as { id: { name: string } | null }).id?.name;
    if (!name || !isTopLevel(state, node)) return;
    state.prepend(node, `this.${name} = ${name}; `);
    state.hoisted.push(`var ${name}; `);
  },
  ClassDeclaration(node, state, c) {
    const name = (node as unknown as { id: { name: string } }).id.name;
    if (isTopLevel(state, node)) {
      state.prepend(node, `${name}=`);
      state.hoisted.push(`let ${name}; `);
    }
    // Computed keys and `extends` run at top level; bodies do not.
    const cls = node as unknown as { superClass: Node | null };
    if (cls.superClass) c(cls.superClass, state);
  },
  AwaitExpression(node, state, c) {
    state.containsAwait = true;
    baseWalk().AwaitExpression!(node, state, c);
  },
  ForOfStatement(node, state, c) {
    if ((node as unknown as { await: boolean }).await) state.containsAwait = true;
    withAncestor(node, state, c, baseWalk().ForOfStatement!);
  },
  ForInStatement(node, state, c) {
    withAncestor(node, state, c, baseWalk().ForInStatement!);
  },
  ForStatement(node, state, c) {
    withAncestor(node, state, c, baseWalk().ForStatement!);
  },
  CallExpression(node, state, c) {
    const call = node as unknown as { callee: Node & { name?: string }; arguments: Array<Node & { value?: unknown }> };
    const [first] = call.arguments;
    if (call.callee.type === "Identifier" && call.callee.name === "require" && first?.type === "Literal" && typeof first.value === "string") {
      state.requires.push(first.value);
    }
    baseWalk().CallExpression!(node, state, c);
  },
  ImportDeclaration(node, state) {
    // `import a, { b as c } from "m"` → `void (({ default: a, b: c } = await import("m")));`
    // `import * as ns from "m"` → `void ((ns = await import("m")));` — bindings hoisted as `let`.
    const decl = node as unknown as { source: { value: string; raw: string }; specifiers: Array<{ type: string; local: { name: string }; imported?: { type: string; name?: string; value?: string } }> };
    const from = `await import(${decl.source.raw})`;
    state.imports.push(decl.source.value);
    state.containsAwait = true;
    const names: string[] = [];
    let text: string;
    const namespace = decl.specifiers.find((s) => s.type === "ImportNamespaceSpecifier");
    if (decl.specifiers.length === 0) {
      text = `void (${from});`;
    } else if (namespace && decl.specifiers.length === 1) {
      names.push(namespace.local.name);
      text = `void ((${namespace.local.name} = ${from}));`;
    } else {
      const parts: string[] = [];
      for (const s of decl.specifiers) {
        names.push(s.local.name);
        if (s.type === "ImportDefaultSpecifier") parts.push(`default: ${s.local.name}`);
        else if (s.type === "ImportSpecifier") {
          const imported = s.imported!;
          const key = imported.type === "Identifier" ? imported.name! : JSON.stringify(imported.value);
          parts.push(`${key}: ${s.local.name}`);
        }
      }
      text = namespace
        ? `void ((${namespace.local.name} = ${from}), ({ ${parts.join(", ")} } = ${namespace.local.name}));`
        : `void (({ ${parts.join(", ")} } = ${from}));`;
    }
    if (names.length > 0) state.hoisted.push(`let ${names.join(", ")}; `);
    state.replace(node.start, node.end, text);
  },
  VariableDeclaration(node, state, c) {
    const decl = node as unknown as { kind: string; declarations: Array<Node & { id: Node; init: Node | null }> };
    const kind = decl.kind;
    const parent = state.ancestors[state.ancestors.length - 1];
    const inForInOf = parent !== undefined && (parent.type === "ForOfStatement" || parent.type === "ForInStatement") && (parent as unknown as { left: Node }).left === node;
    const inForInit = parent !== undefined && parent.type === "ForStatement" && (parent as unknown as { init: Node | null }).init === node;
    // `var` anywhere outside functions, and top-level let/const: hoisted, so later calls see them.
    // A let/const in a for head stays as it is (its scope is the loop, each iteration its own).
    const hoist = kind === "var" ? true : isTopLevel(state, node);
    if (hoist && !(kind !== "var" && (inForInOf || inForInit))) {
      const names: string[] = [];
      for (const d of decl.declarations) boundNames(d.id, names);
      if (inForInOf) {
        // `for (var x of …)` → `for (x of …)`
        state.replace(node.start, node.start + kind.length + 1, "");
      } else {
        const many = decl.declarations.length !== 1;
        state.replace(node.start, node.start + kind.length, `void${many ? " (" : ""}`);
        for (const d of decl.declarations) {
          state.prepend(d, "(");
          state.append(d, d.init ? ")" : "=undefined)");
        }
        if (many) state.append(decl.declarations[decl.declarations.length - 1]!, ")");
      }
      if (names.length > 0) state.hoisted.push(`${kind === "var" ? "var" : "let"} ${names.join(", ")}; `);
    }
    for (const d of decl.declarations) if (d.init) c(d.init, state);
  },
};

/** Join the pieces, and build the map from output positions back to source positions. */
function buildOutput(source: string, pieces: string[], prefix: string, suffix: string): { code: string; map: Mapper } {
  const outStart = new Int32Array(pieces.length + 1);
  let offset = prefix.length;
  for (let i = 0; i < pieces.length; i++) {
    outStart[i] = offset;
    offset += pieces[i]!.length;
  }
  outStart[pieces.length] = offset;
  const code = prefix + pieces.join("") + suffix;
  const outLines = lineStarts(code);
  const srcLines = lineStarts(source);
  const map: Mapper = (line, column) => {
    if (!Number.isInteger(line) || !Number.isInteger(column) || line < 1 || column < 1 || line > outLines.length) return undefined;
    const out = outLines[line - 1]! + column - 1;
    // The last source character whose output starts at or before `out`.
    let lo = 0;
    let hi = pieces.length - 1;
    if (hi < 0 || out < outStart[0]!) return line === 1 ? { line: 1, column: 1 } : undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (outStart[mid]! <= out) lo = mid;
      else hi = mid - 1;
    }
    // Inside inserted text the position is the source character it was attached to.
    const src = lo;
    let l = 0;
    let h = srcLines.length - 1;
    while (l < h) {
      const mid = (l + h + 1) >> 1;
      if (srcLines[mid]! <= src) l = mid;
      else h = mid - 1;
    }
    return { line: l + 1, column: src - srcLines[l]! + 1 };
  };
  return { code, map };
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}
