import { test } from "node:test";
import assert from "node:assert/strict";
import vm from "node:vm";
import { detectModuleSyntax, transpileTypeScript } from "../../src/loader/transpile.js";

test("enums, generics, namespaces, parameter properties and satisfies run after transpiling", () => {
  const source = [
    "enum Color { Red, Green = 5, Blue }",
    "const enum Dir { Up = 'UP' }",
    "namespace NS { export const k: number = 7; }",
    "function first<T>(xs: readonly T[]): T | undefined { return xs[0]; }",
    "class Box<T> { constructor(private readonly value: T) {} get(): T { return this.value; } }",
    "interface Shape { area(): number }",
    "type Pair<A, B> = [A, B];",
    "const cfg = { n: 1 } satisfies Record<string, number>;",
    "const p: Pair<string, number> = ['a', Color.Blue];",
    "({ blue: Color.Blue, name: Color[5], up: Dir.Up, k: NS.k, first: first<number>([3, 4]), box: new Box<string>('b').get(), n: cfg.n, p });",
  ].join("\n");
  const { code } = transpileTypeScript(source, "/src/a.ts", undefined);
  assert.doesNotMatch(code, /interface|: number|<T>/);
  const result = vm.runInNewContext(code);
  assert.deepEqual({ ...result, p: [...result.p] }, { blue: 6, name: "Green", up: "UP", k: 7, first: 3, box: "b", n: 1, p: ["a", 6] });
});

test("ESM syntax is kept as is; type-only imports vanish", () => {
  const { code } = transpileTypeScript("import type { X } from './x';\nimport { y } from './y';\nexport const a: number = y;\nexport default class K {}\n", "/src/m.ts", "module");
  assert.match(code, /import \{ y \} from "\.\/y"/);
  assert.match(code, /export const a = y/);
  assert.match(code, /export default class K/);
  assert.doesNotMatch(code, /\.\/x|require|module\.exports/);
});

test("format commonjs (.cts, type: commonjs) turns import/export into require/module.exports, like tsc", () => {
  const { code } = transpileTypeScript("import fs = require('dep');\nimport { b } from './b';\nexport const a: number = b + fs.x;\n", "/src/c.cts", "commonjs");
  assert.match(code, /require\("dep"\)/);
  assert.match(code, /require\("\.\/b"\)/);
  assert.match(code, /module\.exports/);
  assert.equal(detectModuleSyntax(code), false);
  const module = { exports: {} as Record<string, unknown> };
  const req = (s: string) => (s === "dep" ? { x: 1 } : { b: 2 });
  new Function("module", "exports", "require", code)(module, module.exports, req);
  assert.equal(module.exports.a, 3);
});

test("positions in the generated code map back to the .ts lines and columns", () => {
  const source = [
    "interface Big {", //             1
    "  a: number;", //                2
    "  b: string;", //                3
    "}", //                           4
    "type T = Big | undefined;", //   5
    "enum E { A, B }", //             6
    "export function f(x: T): number {", // 7
    "  const y: number = E.B;", //    8
    "    throw new Error('boom' + y);", // 9
    "}", //                           10
  ].join("\n");
  const t = transpileTypeScript(source, "/src/pos.ts", undefined);
  const lines = t.code.split("\n");
  const genLine = lines.findIndex((l) => l.includes("throw new Error")) + 1;
  const genCol = lines[genLine - 1]!.indexOf("throw") + 1;
  assert.ok(genLine > 0 && genLine !== 9, `generated line ${genLine} should differ from the source line`);
  assert.deepEqual(t.mapPosition(genLine, genCol), { line: 9, column: 5 });
  const fLine = lines.findIndex((l) => l.includes("function f(")) + 1;
  assert.equal(t.mapPosition(fLine, 1)?.line, 7);
  assert.equal(t.mapPosition(0, 1), undefined);
  assert.equal(t.mapPosition(1.5, 1), undefined);
});

test("syntax errors name the file, line and column", () => {
  assert.throws(
    () => transpileTypeScript("const a: number = 1;\nlet b = 2\nconst c = d e;\n", "/src/bad.ts", undefined),
    (e: Error) => e instanceof SyntaxError && /^\/src\/bad\.ts:3:13: Expected ";" but found "e"$/.test(e.message),
  );
  assert.throws(() => transpileTypeScript("let x: = 1", "/x.ts", "module"), (e: Error) => e instanceof SyntaxError && e.message.startsWith("/x.ts:1:8: "));
  assert.throws(() => transpileTypeScript("let = ;", "/two.ts", undefined), { name: "SyntaxError", message: '/two.ts:1:7: Unexpected ";"' });
});

test("detectModuleSyntax", () => {
  const cases: Array<[string, boolean]> = [
    ["import x from 'y'; x()", true],
    ["import 'side-effect'", true],
    ["export const a = 1", true],
    ["export default function () {}", true],
    ["export * from './x'", true],
    ["console.log(import.meta.url)", true],
    ["await Promise.resolve(1)", true],
    ["import('x').then(() => {})", false],
    ["module.exports = 1", false],
    ["const a = require('x')", false],
    ["let a = 1", false],
    ["", false],
    ["const s = 'import x from \"y\"; export default 1'", false],
    ["/* export const a = 1 */ // import x from 'y'", false],
    ["const t = `export ${1}`", false],
    ["async function f() { await 1 }", false],
    ["let = = ;", false],
    ["#!/usr/bin/env node\nexport {}", true],
  ];
  for (const [code, expected] of cases) assert.equal(detectModuleSyntax(code), expected, code);
});
