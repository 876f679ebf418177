/**
 * Issue 3, module kinds through the public RExec API: ESM, CJS, JSON, TS,
 * interop both ways, cycles, once-per-realm, reload/unload, execfile, callable
 * namespaces.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { RExec, FileSystemHooks, MemoryHooks, GuestError } from "../../src/index.js";
import { makeRoot, settle } from "./helpers.js";

function rexecOver(files: Record<string, string>): { rx: RExec; root: string } {
  const { root } = makeRoot(files);
  return { rx: new RExec({ hooks: new FileSystemHooks({ root }) }), root };
}

test("ESM: static import/export, default + named + re-export, dynamic import()", async () => {
  const { rx } = rexecOver({
    "lib/math.mjs": "export const two = 2; export default function double(n) { return n * two; }",
    "lib/index.js": "export * from './math.mjs'; export { default as dbl } from './math.mjs';",
    "main.mjs": "import dbl2, { two } from './lib/math.mjs';\nimport * as lib from './lib/index.js';\nexport const r = [dbl2(5), two, lib.dbl(3), lib.two];\nexport const later = () => import('./lib/math.mjs').then((m) => m.default(10));",
  });
  using _ = rx;
  const ns = await rx.r_import("./main.mjs");
  assert.deepEqual(ns.r, [10, 2, 6, 2]);
  assert.equal(await (ns.later as () => Promise<number>)(), 20);
  assert.equal(await rx.r_eval("import('./lib/math.mjs').then(m => m.default(21))"), 42);
});

test("CJS: require, module.exports, exports.x, __filename/__dirname are guest paths, require.resolve", async () => {
  const { rx } = rexecOver({
    "a.js": "const b = require('./sub/b'); module.exports = { sum: b.x + b.y, file: __filename, dir: __dirname, res: require.resolve('./sub/b') };",
    "sub/b.js": "exports.x = 1; exports.y = 2;",
  });
  using _ = rx;
  const ns = await rx.r_import("./a.js");
  assert.deepEqual(ns, { sum: 3, file: "/a.js", dir: "/", res: "/sub/b.js" });
});

test("JSON: require and import (default), invalid JSON is a SyntaxError naming the file", async () => {
  const { rx } = rexecOver({
    "data.json": JSON.stringify({ list: [1, 2], s: "x" }),
    "bad.json": "{ nope",
    "c.cjs": "module.exports = require('./data.json').list.length;",
    "e.mjs": "import d from './data.json'; export const s = d.s;",
    "badc.cjs": "try { require('./bad.json'); module.exports = 'no error'; } catch (e) { module.exports = e.name + ':' + e.message; }",
  });
  using _ = rx;
  assert.equal(await rx.r_eval("import('./c.cjs').then(m => m.default)"), 2);
  assert.equal((await rx.r_import("./e.mjs")).s, "x");
  assert.deepEqual((await rx.r_import("./data.json")), { list: [1, 2], s: "x" });
  const bad = String(await rx.r_eval("import('./badc.cjs').then(m => m.default)"));
  assert.match(bad, /^SyntaxError:/);
  assert.match(bad, /bad\.json/);
});

test("TypeScript: .ts with enum + generics, .mts, .cts; types are erased, syntax errors are errors", async () => {
  const { rx } = rexecOver({
    "color.ts": "export enum Color { Red = 1, Green, Blue }\nexport const enum K { A = 'a' }\nexport function pick<T extends { id: number }>(xs: T[], id: number): T | undefined {\n  return xs.find((x) => x.id === id);\n}\nexport class Box<T> { constructor(private readonly v: T) {} get(): T { return this.v; } }\nexport const k: string = K.A;\n",
    "util.mts": "import { Color, pick, Box } from './color.ts';\ninterface P { id: number; name: string }\nconst ps: P[] = [{ id: 1, name: 'a' }, { id: 2, name: 'b' }];\nexport const name: string = pick<P>(ps, 2)!.name;\nexport const green: number = Color.Green;\nexport const colorName: string = Color[Color.Blue];\nexport const boxed = new Box<number>(7).get();\n",
    "legacy.cts": "import type { Color } from './color.ts';\nconst n: number = 40;\nexport function add(a: number, b: number): number { return a + b + n; }\n",
    "use-cts.cjs": "module.exports = require('./legacy.cts').add(1, 1);",
    "broken.ts": "export const x: number = ;\n",
  });
  using _ = rx;
  const util = await rx.r_import("./util.mts");
  assert.deepEqual({ ...util }, { boxed: 7, colorName: "Blue", green: 2, name: "b" });
  const color = await rx.r_import("./color.ts");
  assert.deepEqual(color.Color, { 1: "Red", 2: "Green", 3: "Blue", Red: 1, Green: 2, Blue: 3 });
  assert.equal(color.k, "a");
  assert.equal(await rx.r_eval("import('./use-cts.cjs').then(m => m.default)"), 42);
  const broken = await settle(rx.r_import("./broken.ts"));
  assert.equal(broken.ok, false);
  assert.ok(!broken.ok && broken.error instanceof Error && /broken\.ts/.test(broken.error.message), String(!broken.ok && broken.error));
});

const THROWING_TS = [
  "// line 1",
  "interface Shape { kind: 'sq'; size: number }",
  "enum Mode { Strict, Loose }",
  "function area<T extends Shape>(s: T): number {",
  "  return s.size * s.size;",
  "}",
  "export function boom(mode: Mode = Mode.Strict): never {",
  "  const a: number = area({ kind: 'sq', size: 2 });",
  "  throw new Error(`boom ${a} ${mode}`); // line 9",
  "}",
  "export const ok = 1;",
].join("\n");

test("TypeScript: a GuestError's frames point at the .ts file's own lines (thrown while importing)", async () => {
  const { rx } = rexecOver({
    "boom.ts": THROWING_TS,
    "top.ts": "type N = number;\nconst n: N = 1;\nenum E { A }\n\nthrow new TypeError('top ' + n + E.A); // line 5\n",
  });
  using _ = rx;
  const r = await settle(rx.r_import("./top.ts"));
  assert.ok(!r.ok && r.error instanceof GuestError, String(!r.ok && r.error));
  const frame = (r.error as GuestError).frames.find((f) => f.fileName === "/top.ts");
  assert.ok(frame, JSON.stringify((r.error as GuestError).frames));
  assert.equal(frame.line, 5);

  const r2 = await settle(rx.r_eval("import('./boom.ts').then((m) => m.boom())"));
  assert.ok(!r2.ok && r2.error instanceof GuestError, String(!r2.ok && r2.error));
  assert.equal((r2.error as GuestError).message, "boom 4 0");
  const f2 = (r2.error as GuestError).frames.find((f) => f.fileName === "/boom.ts");
  assert.ok(f2, JSON.stringify((r2.error as GuestError).frames));
  assert.equal(f2.functionName, "boom");
  assert.equal(f2.line, 9);
});

test("TypeScript: frames are mapped also when the host calls a function of an r_import namespace", {
}, async () => {
  const { rx } = rexecOver({ "boom.ts": THROWING_TS });
  using _ = rx;
  const ns = await rx.r_import("./boom.ts");
  const r = await settle((ns.boom as () => Promise<never>)());
  assert.ok(!r.ok && r.error instanceof GuestError, String(!r.ok && r.error));
  const f = (r.error as GuestError).frames.find((fr) => fr.fileName === "/boom.ts");
  assert.ok(f, JSON.stringify((r.error as GuestError).frames));
  assert.equal(f.line, 9, `frame ${JSON.stringify(f)} should point at boom.ts line 9`);
});

test("interop: ESM imports CJS (default + named), CJS requires ESM (namespace), builtins both ways", async () => {
  const { rx } = rexecOver({
    "lib.cjs": "exports.add = (a, b) => a + b; exports.name = 'lib'; exports['not-ident'] = 1;",
    "fn.cjs": "module.exports = function f() { return 'f'; }; module.exports.extra = 'x';",
    "esm.mjs": "import lib, { add, name } from './lib.cjs';\nimport f, { extra } from './fn.cjs';\nimport { join } from 'node:path';\nexport const r = [add(1, 2), name, lib.add === add, lib['not-ident'], f(), extra, join('a', 'b')];",
    "target.mjs": "export default 'dflt'; export const named = 'n';",
    "req.cjs": "const ns = require('./target.mjs'); const util = require('util'); module.exports = [ns.default, ns.named, typeof util.format, util.format('%s=%d', 'a', 1)];",
  });
  using _ = rx;
  assert.deepEqual((await rx.r_import("./esm.mjs")).r, [3, "lib", true, 1, "f", "x", "a/b"]);
  assert.deepEqual(await rx.r_eval("import('./req.cjs').then(m => m.default)"), ["dflt", "n", "function", "a=1"]);
});

test("cycles: ESM↔ESM (live bindings), CJS↔CJS (partial exports), ESM↔CJS", async () => {
  const { rx } = rexecOver({
    "ea.mjs": "import { b, getA } from './eb.mjs';\nexport function a() { return 'a'; }\nexport const both = () => a() + b() + getA();",
    "eb.mjs": "import { a } from './ea.mjs';\nexport function b() { return 'b'; }\nexport const getA = () => a();",
    "ca.cjs": "exports.early = 'a-early';\nconst b = require('./cb.cjs');\nexports.late = 'a-late';\nexports.sawB = b.sawA;\nexports.bLate = () => b.aLateLater();",
    "cb.cjs": "const a = require('./ca.cjs');\nexports.sawA = [a.early, a.late];\nexports.aLateLater = () => a.late;",
    "x.cjs": "exports.early = 1;\nconst e = require('./y.mjs');\nexports.late = 2;\nexports.fromE = e.seen;\nexports.lateViaE = () => e.lateOf();",
    "y.mjs": "import x from './x.cjs';\nexport const seen = x.early;\nexport function lateOf() { return x.late; }",
  });
  using _ = rx;
  assert.equal(await ((await rx.r_import("./ea.mjs")).both as () => Promise<string>)(), "aba");
  const ca = await rx.r_import("./ca.cjs");
  assert.deepEqual(ca.sawB, ["a-early", undefined]);
  assert.equal(ca.late, "a-late");
  assert.equal(await (ca.bLate as () => Promise<string>)(), "a-late");
  const x = await rx.r_import("./x.cjs");
  assert.equal(x.fromE, 1);
  assert.equal(x.late, 2);
  assert.equal(await (x.lateViaE as () => Promise<number>)(), 2);
});

test("cycle entered from the ESM side (ESM imports CJS that requires the ESM) fails clearly or works — never hangs", async () => {
  const { rx } = rexecOver({
    "p.mjs": "import q from './q.cjs';\nexport const fromQ = q.val;\nexport const mine = 'p';",
    "q.cjs": "let p; try { p = require('./p.mjs'); } catch (e) { p = { err: e.message }; }\nexports.val = 'q';\nexports.p = p.err ? p.err : typeof p;",
  });
  using _ = rx;
  const ns = await rx.r_import("./p.mjs");
  assert.equal(ns.fromQ, "q");
  assert.equal(ns.mine, "p");
  const q = await rx.r_import("./q.cjs");
  assert.match(String(q.p), /cycle/, "the guest caught a clear error");
  assert.equal(rx.alive, true, "the engine survived");
  assert.equal(await rx.r_eval("1 + 1"), 2);
});

test("each module is evaluated once per realm (ESM, CJS, JSON, TS; import and require mixed); separate realms are separate", async () => {
  const files = {
    "count.mjs": "globalThis.hits = globalThis.hits ?? {}; hits.m = (hits.m ?? 0) + 1; export const n = hits.m;",
    "count.cjs": "globalThis.hits = globalThis.hits ?? {}; hits.c = (hits.c ?? 0) + 1; module.exports = { n: hits.c };",
    "count.ts": "const g = globalThis as any; g.hits = g.hits ?? {}; g.hits.t = (g.hits.t ?? 0) + 1; export const n: number = g.hits.t;",
    "a.mjs": "import './count.mjs'; import './count.cjs'; import './count.ts'; export {};",
    "b.cjs": "require('./count.cjs'); require('./count.mjs'); require('./count.ts'); require('./count.cjs');",
    "c.mjs": "export const all = () => Promise.all([import('./count.mjs'), import('./count.cjs'), import('./count.ts'), import('./b.cjs')]).then(() => 1);",
  };
  const { root } = makeRoot(files);
  using rx = new RExec({ hooks: new FileSystemHooks({ root }) });
  await rx.r_import("./a.mjs");
  await rx.r_import("./b.cjs");
  await (await rx.r_import("./c.mjs")).all as unknown;
  await rx.r_eval("import('./c.mjs').then(m => m.all())");
  await rx.r_import("./count.mjs");
  await rx.r_execfile("./b.cjs");
  assert.deepEqual(await rx.r_eval("hits"), { m: 1, c: 1, t: 1 });
  using rx2 = new RExec({ hooks: new FileSystemHooks({ root }) });
  await rx2.r_import("./count.cjs");
  assert.deepEqual(await rx2.r_eval("hits"), { c: 1 });
});

test("r_reload: later imports get the new instance; modules and host code holding old bindings keep them", async () => {
  const { rx, root } = rexecOver({
    "m.mjs": "globalThis.loads = (globalThis.loads ?? 0) + 1; export const v = 'old'; export const load = globalThis.loads;",
    "holder.mjs": "import { v } from './m.mjs'; export const held = () => v;",
    "c.cjs": "globalThis.cl = (globalThis.cl ?? 0) + 1; module.exports = { v: 'old', n: globalThis.cl };",
    "cholder.cjs": "const c = require('./c.cjs'); module.exports = { held: () => c.v };",
  });
  using _ = rx;
  const holder = await rx.r_import("./holder.mjs");
  const oldNs = await rx.r_import("./m.mjs");
  assert.equal(oldNs.v, "old");
  fs.writeFileSync(path.join(root, "m.mjs"), "globalThis.loads = (globalThis.loads ?? 0) + 1; export const v = 'new'; export const load = globalThis.loads;");
  // Not reloaded yet: still the cached instance.
  assert.equal((await rx.r_import("./m.mjs")).v, "old");
  assert.equal(await rx.r_eval("import('./m.mjs').then(m => m.v)"), "old");
  const newNs = await rx.r_reload("./m.mjs");
  assert.equal(newNs.v, "new");
  assert.equal(newNs.load, 2);
  assert.equal(oldNs.v, "old", "the host's old namespace copy is unchanged");
  assert.equal(await (holder.held as () => Promise<string>)(), "old", "a module holding the old binding keeps it");
  assert.equal((await rx.r_import("./m.mjs")).v, "new");
  assert.equal(await rx.r_eval("import('./m.mjs').then(m => m.v)"), "new", "a later dynamic import gets the new instance");
  assert.equal(await rx.r_eval("import('./holder.mjs').then(m => m.held())"), "old");
  assert.equal(await rx.r_eval("loads"), 2);

  // CommonJS: same semantics through require.
  const ch = await rx.r_import("./cholder.cjs");
  fs.writeFileSync(path.join(root, "c.cjs"), "globalThis.cl = (globalThis.cl ?? 0) + 1; module.exports = { v: 'new', n: globalThis.cl };");
  const c2 = await rx.r_reload("./c.cjs");
  assert.deepEqual(c2, { v: "new", n: 2 });
  assert.equal(await (ch.held as () => Promise<string>)(), "old");
  assert.equal(await rx.r_eval("import('./c.cjs').then(m => m.default.v)"), "new");

  // r_unload: nothing runs now; the next import evaluates anew.
  rx.r_unload("./m.mjs");
  assert.equal(await rx.r_eval("loads"), 2);
  assert.equal((await rx.r_import("./m.mjs")).load, 3);
  // s_ twins exist and behave the same.
  rx.s_unload("./m.mjs");
  assert.equal((await rx.s_reload("./m.mjs")).load, 4);
  assert.equal((await rx.s_import("./m.mjs")).load, 4);
});

test("r_unload / r_reload of a module never loaded, and of a missing one", async () => {
  const { rx } = rexecOver({ "m.mjs": "export const v = 1;" });
  using _ = rx;
  rx.r_unload("./m.mjs"); // before the realm started: no-op
  assert.equal((await rx.r_reload("./m.mjs")).v, 1);
  await assert.rejects(rx.r_reload("./missing.mjs"), { name: "ModuleNotFoundError" });
  assert.throws(() => rx.r_unload(""), TypeError);
  assert.throws(() => rx.r_unload("./m\0.mjs"), TypeError);
});

test("r_execfile runs .js, .mjs, .cjs and .ts files; output captured; returns undefined", async () => {
  const { rx } = rexecOver({
    "s.js": "console.log('js', typeof require === 'function' || typeof module === 'object' ? 'cjs' : 'esm');",
    "s.mjs": "const x = await Promise.resolve('mjs'); console.log(x);",
    "s.cjs": "console.log('cjs', typeof module.exports);",
    "s.ts": "enum E { X = 3 }\nconst f = <T,>(v: T): T => v;\nconsole.log('ts', f<number>(E.X));",
    "err.ts": "\n\nthrow new RangeError('bad');\n",
  });
  using _ = rx;
  for (const [file, out] of [["./s.js", "js cjs\n"], ["./s.mjs", "mjs\n"], ["./s.cjs", "cjs object\n"], ["./s.ts", "ts 3\n"]] as const) {
    assert.equal(await rx.r_execfile(file), undefined);
    assert.equal(rx.output.stdout, out, file);
  }
  await assert.rejects(rx.r_execfile("./err.ts"), (e: unknown) => e instanceof GuestError && e.guestName === "RangeError" && e.frames.some((f) => f.fileName === "/err.ts" && f.line === 3));
  let seen = "";
  using sx = new RExec({ hooks: rx.hooks, stdio: { stdout: (t) => (seen += t) } });
  await sx.s_execfile("./s.cjs");
  assert.equal(seen, "cjs object\n");
});

test("r_import: functions callable from the host (args copied in, results copied out, async functions awaited, guest state kept)", async () => {
  const hooks = new MemoryHooks({
    files: {
      "/api.mjs": "let total = 0;\nexport function add(n) { total += n; return total; }\nexport async function later(x) { await null; return { x, arr: [x, x] }; }\nexport const mutate = (o) => { o.changed = true; return o; };\nexport class K {}\nexport const data = { nested: [1, { deep: 'yes' }] };",
    },
  });
  using rx = new RExec({ hooks });
  const api = await rx.r_import("./api.mjs");
  const add = api.add as (n: number) => Promise<number>;
  assert.equal(await add(2), 2);
  assert.equal(await add(3), 5);
  assert.deepEqual(await (api.later as (x: string) => Promise<unknown>)("v"), { x: "v", arr: ["v", "v"] });
  const input = { a: 1 };
  const out = await (api.mutate as (o: object) => Promise<object>)(input);
  assert.deepEqual(out, { a: 1, changed: true });
  assert.deepEqual(input, { a: 1 }, "the host's argument was copied, not shared");
  assert.deepEqual(api.data, { nested: [1, { deep: "yes" }] });
  // Each call runs under the limits.
  const { rx: limited } = rexecOver({ "spin.mjs": "export function spin() { for (;;) {} }" });
  using __ = limited;
  const spin = (await limited.r_import("./spin.mjs")).spin as () => Promise<void>;
  await assert.rejects(spin(), { name: "TimeoutError" });
});
