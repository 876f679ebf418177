/**
 * TypeScript guests in the browser build (sucrase in place of esbuild,
 * src/platform/browser/typescript.ts), in a real Chromium: on the page's
 * thread, from MemoryHooks and UrlHooks modules, in the Web Worker; syntax and
 * runtime errors point at the `.ts` source; hostile input is refused cleanly.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startHarness, type Harness } from "./harness.js";

let h: Harness;
let page: Page & { errors: string[] };

before(async () => {
  h = await startHarness((_req, res, url) => {
    const files: Record<string, string> = {
      // The scan for prefetching (esbuild's `build` stand-in) must read TypeScript: UrlHooks answer asynchronously.
      "/remote-ts/main.ts": 'import type { Num } from "./types.ts";\nimport { twice } from "./dep.ts";\nexport const answer: Num = twice(21);\n',
      "/remote-ts/dep.ts": "export function twice(x: number): number { return x * 2; }\n",
    };
    const body = files[url.pathname];
    if (body === undefined) return false;
    res.writeHead(200, { "content-type": "text/plain" }).end(body);
    return true;
  });
  page = await h.newPage();
  await page.goto(`${h.url}blank.html`);
  await page.evaluate(async () => {
    const m = await import("/dist/browser/rexec.js");
    await m.initRExec();
    (globalThis as any).rexec = m;
  });
});

after(async () => {
  await h?.close();
});

/** Run `fn` in the page with the bundle's exports as `m` and `grab(promise)` → its value or its error's parts. */
function inPage<T>(fn: string): Promise<T> {
  return page.evaluate(`(async () => {
    const m = globalThis.rexec;
    const grab = async (p) => { try { return { value: await p }; } catch (e) { return { cls: e.constructor.name, guestName: e.guestName, msg: String(e.message).slice(0, 300), frames: (e.frames ?? []).slice(0, 3) }; } };
    ${fn} })()`) as Promise<T>;
}

const TS_PROGRAM = `
interface Point { x: number; y: number }
type Pair<T> = [T, T];
enum Color { Red, Green = 5, Blue }
const enum Flag { On = 1 }
abstract class Shape { abstract area(): number; describe(): string { return \`area \${this.area()}\`; } }
class Rect extends Shape {
  constructor(public w: number, private readonly h: number) { super(); }
  area(): number { return this.w * this.h; }
}
declare const nothing: unknown;
namespace Types { export type Id = string }
function first<T>(pair: Pair<T>): T { return pair[0]!; }
const p = { x: 1, y: 2 } satisfies Point;
const id: Types.Id = "a" as const;
({ p, first: first<number>([7, 8]), colors: [Color.Red, Color.Blue, Color[5]], flag: Flag.On, rect: new Rect(2, 3).describe(), w: new Rect(4, 1).w, id })`;

const TS_EXPECTED = { p: { x: 1, y: 2 }, first: 7, colors: [0, 6, "Green"], flag: 1, rect: "area 6", w: 4, id: "a" };

test("a TypeScript guest (interfaces, generics, enums, parameter properties, abstract classes, satisfies) evaluates: language \"ts\" and a .ts filename, on the page and in the Web Worker", async () => {
  const r = await inPage<Record<string, unknown>>(`
    const rx = new m.RExec();
    const sx = new m.RExec();
    const wx = new m.WebWorkerRExec();
    const wy = new m.WebWorkerRExec();
    try {
      return {
        lang: await grab(rx.r_eval(${JSON.stringify(TS_PROGRAM)}, { language: "ts" })),
        file: await grab(sx.r_eval(${JSON.stringify(TS_PROGRAM)}, { filename: "prog.ts" })),
        worker: await grab(wx.r_eval(${JSON.stringify(TS_PROGRAM)}, { filename: "prog.ts" })),
        workerLanguage: await grab(wy.r_eval(${JSON.stringify(TS_PROGRAM)}, { language: "ts" })),
        // Types are stripped, never checked (as esbuild on Node): a type error is not an error.
        typeError: await grab(rx.r_eval('const n: number = "not a number" as any as string; n', { language: "ts" })),
      };
    } finally { rx.dispose(); sx.dispose(); wx.dispose(); wy.dispose(); }`);
  assert.deepEqual(r["lang"], { value: TS_EXPECTED });
  assert.deepEqual(r["file"], { value: TS_EXPECTED });
  assert.deepEqual(r["worker"], { value: TS_EXPECTED });
  // language crosses to the worker too (it was dropped: only filename was forwarded).
  assert.deepEqual(r["workerLanguage"], { value: TS_EXPECTED });
  assert.deepEqual(r["typeError"], { value: "not a number" });
});

test("TypeScript modules from MemoryHooks (.ts ESM with type-only imports, .cts CommonJS) and from UrlHooks (prefetched through the TypeScript import scan)", async () => {
  const r = await inPage<Record<string, unknown>>(`
    const rx = new m.RExec({ hooks: new m.MemoryHooks({ files: {
      "/main.ts": "import type { Opts } from './types.ts';\\nimport { scale, Unit } from './util.ts';\\nconst o: Opts = { k: 3 };\\nexport const out: number = scale(o.k);\\nexport const unit: Unit = Unit.Cm;\\nexport { scale };",
      "/types.ts": "export interface Opts { k: number }",
      "/util.ts": "export enum Unit { Mm = 'mm', Cm = 'cm' }\\nexport function scale(x: number): number { return x * 10; }",
      "/legacy.cts": "import { scale } from './util.ts';\\ninterface R { v: number }\\nconst r: R = { v: scale(4) };\\nexport = r;",
    } }) });
    const ux = new m.RExec({ hooks: new m.UrlHooks({ base: location.origin + "/remote-ts/", allow: [location.origin] }) });
    try {
      const ns = await grab(rx.r_import("./main.ts"));
      return {
        main: ns.value ? { out: ns.value.out, unit: ns.value.unit, scaled: await ns.value.scale(5) } : ns,
        cjs: await grab(rx.r_eval("require('./legacy.cts').v")),
        url: await grab(ux.r_import("./main.ts").then((n) => n.answer)),
      };
    } finally { rx.dispose(); ux.dispose(); }`);
  assert.deepEqual(r["main"], { out: 30, unit: "cm", scaled: 50 });
  assert.deepEqual(r["cjs"], { value: 40 });
  assert.deepEqual(r["url"], { value: 42 });
});

test("a TypeScript syntax error is a GuestError SyntaxError naming file:line:col; a runtime error's frame points at the .ts line; a namespace with values is refused, not dropped", async () => {
  const r = await inPage<Record<string, any>>(`
    const rx = new m.RExec({ hooks: new m.MemoryHooks({ files: { "/broken.ts": "export const a: number = 1;\\nexport const b: string = ;\\n" } }) });
    try {
      return {
        syntax: await grab(rx.r_exec("const ok: number = 1;\\nconst bad: number = ;\\n", { filename: "bad.ts" })),
        module: await grab(rx.r_import("./broken.ts")),
        runtime: await grab(rx.r_exec("interface P { x: number }\\nenum E { A, B }\\nfunction f(p: P): number {\\n  const q: Record<string, any> = p as unknown as Record<string, any>; return q.missing.deep;\\n}\\nf({ x: E.B });", { filename: "run.ts" })),
        namespace: await grab(rx.r_eval("const before = 1;\\nnamespace Box { export const size: number = 3 }\\nBox.size", { filename: "ns.ts" })),
        after: await grab(rx.r_eval("const n: number = 41; n + 1", { language: "ts" })),
      };
    } finally { rx.dispose(); }`);
  assert.equal(r["syntax"].cls, "GuestError", JSON.stringify(r["syntax"]));
  assert.equal(r["syntax"].guestName, "SyntaxError");
  assert.match(r["syntax"].msg, /bad\.ts:2:21: Unexpected token/);
  // An imported module that does not transpile: the loader's SyntaxError, as on Node.
  assert.equal(r["module"].cls, "SyntaxError", JSON.stringify(r["module"]));
  assert.match(r["module"].msg, /broken\.ts:2:26: Unexpected token/);
  // Line 4, at `.deep` (column 87): the source map of the transpiled code leads back to the .ts text.
  assert.equal(r["runtime"].guestName, "TypeError", JSON.stringify(r["runtime"]));
  assert.deepEqual([r["runtime"].frames[0].fileName, r["runtime"].frames[0].line], ["run.ts", 4]);
  assert.equal(r["runtime"].frames[0].column, 87, JSON.stringify(r["runtime"].frames[0]));
  assert.equal(r["namespace"].guestName, "SyntaxError", JSON.stringify(r["namespace"]));
  assert.match(r["namespace"].msg, /ns\.ts:2:1: a TypeScript namespace that declares values is not supported in rexec's browser build/);
  assert.deepEqual(r["after"], { value: 42 });
});

test("hostile TypeScript is refused cleanly and the page and the sandbox stay usable: deep brackets, type arguments nested past the parser's stack, long operator chains", async () => {
  const r = await inPage<Record<string, any>>(`
    const rx = new m.RExec();
    const cx = new m.RExec(); // the engine may stop the chain with a StackLimitError, which discards its sandbox
    const wx = new m.WebWorkerRExec();
    const t0 = performance.now();
    try {
      return {
        brackets: await grab(rx.r_eval("(".repeat(100000) + "1" + ")".repeat(100000), { language: "ts" })),
        // '<' is not a bracket for the core's nesting check: sucrase's parser recurses until its stack runs out.
        generics: await grab(rx.r_eval("type T = " + "A<".repeat(200000) + "1" + ">".repeat(200000) + ";\\n1", { language: "ts" })),
        // Binary operators do not count for the nesting check (esbuild loops over them); sucrase recurses.
        binary: await grab(rx.r_eval("const s: string = 'a'" + " + 'a'".repeat(50000) + "; s.length", { language: "ts" })),
        nearLimit: await grab(rx.r_eval("[".repeat(999) + "7" + "]".repeat(999) + ".flat(Infinity)[0]", { language: "ts" })),
        chain: await grab(cx.r_eval("const x: boolean = " + "!".repeat(9990) + "true; x", { language: "ts" })),
        after: await grab(rx.r_eval("const k: number = 2; k * 21", { language: "ts" })),
        workerGenerics: await grab(wx.r_eval("type T = " + "A<".repeat(200000) + "1" + ">".repeat(200000) + ";\\n1", { filename: "h.ts" })),
        workerAfter: await grab(wx.r_eval("const k: number = 2; k * 21", { filename: "k.ts" })),
        ms: performance.now() - t0,
      };
    } finally { rx.dispose(); cx.dispose(); wx.dispose(); }`);
  assert.equal(r["brackets"].guestName, "SyntaxError", JSON.stringify(r["brackets"]));
  assert.match(r["brackets"].msg, /nest deeper than the limit 1000/);
  assert.equal(r["generics"].guestName, "SyntaxError", JSON.stringify(r["generics"]));
  assert.match(r["generics"].msg, /^<eval>: too deeply nested for the TypeScript transpiler/);
  assert.equal(r["binary"].guestName, "SyntaxError", JSON.stringify(r["binary"]));
  assert.match(r["binary"].msg, /^<eval>: too deeply nested for the TypeScript transpiler/);
  // The same in the Web Worker (its own, smaller stack).
  assert.equal(r["workerGenerics"].guestName, "SyntaxError", JSON.stringify(r["workerGenerics"]));
  assert.match(r["workerGenerics"].msg, /^h\.ts: too deeply nested for the TypeScript transpiler/);
  assert.deepEqual(r["workerAfter"], { value: 42 });
  // Just under the core's limits: evaluated, or refused as a SyntaxError/StackLimit — never a crash of the page.
  for (const k of ["nearLimit", "chain"]) {
    const v = r[k];
    assert.ok(("value" in v) || v.cls === "GuestError" || v.cls === "StackLimitError", `${k}: ${JSON.stringify(v)}`);
  }
  console.log(`hostile TypeScript: near the bracket limit ${JSON.stringify(r["nearLimit"]).slice(0, 120)}; 9990 prefix operators ${JSON.stringify(r["chain"]).slice(0, 120)}; all in ${Math.round(r["ms"])} ms`);
  assert.deepEqual(r["after"], { value: 42 });
  assert.ok(r["ms"] < 20_000, `hostile inputs took ${r["ms"]} ms`);
  assert.deepEqual(page.errors, []);
});

test("TypeScript whose parse backtracks exponentially (arrow-or-conditional ambiguity, 500 bytes) is refused quickly on the page's thread and in the worker, never a hang", { timeout: 60_000 }, async () => {
  const r = await inPage<Record<string, any>>(`
    const rx = new m.RExec();
    const wx = new m.WebWorkerRExec();
    // sucrase re-parses "(b): c => …" as an arrow and then as a conditional at every level: 2^n work.
    const hostile = "x = " + "a ? (b): c => ".repeat(36) + "d;";
    const t0 = performance.now();
    try {
      return {
        page: await grab(rx.r_eval(hostile, { language: "ts" })),
        worker: await grab(wx.r_eval(hostile, { filename: "e.ts" })),
        after: await grab(rx.r_eval("const f = (a: number): number => a * 2; const g = (b: boolean) => b ? (n: number): number => n : null; f(21)", { language: "ts" })),
        ms: performance.now() - t0,
      };
    } finally { rx.dispose(); wx.dispose(); }`);
  for (const k of ["page", "worker"]) {
    assert.equal(r[k].guestName, "SyntaxError", `${k}: ${JSON.stringify(r[k])}`);
    assert.match(r[k].msg, /too complex for the TypeScript transpiler/, k);
  }
  assert.deepEqual(r["after"], { value: 42 });
  assert.ok(r["ms"] < 20_000, `took ${r["ms"]} ms`);
  assert.deepEqual(page.errors, []);
});
