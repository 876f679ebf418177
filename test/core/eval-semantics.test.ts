// Evaluation semantics of r_eval/r_exec/s_eval/s_exec (issue 12): top-level await,
// require, static import and TypeScript — in-thread, in worker mode and through the pool.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { GuestError, MemoryHooks, ModuleNotFoundError, RExec, RestrictedError } from "../../src/index.js";
import { RExecPool } from "../../src/pool/index.js";

const files = {
  "/lib/calc.js": "exports.double = (x) => x * 2; exports.name = 'calc';",
  "/lib/esm.mjs": "export const three = 3; export default function hello(n) { return 'hello ' + n; }",
  "/node_modules/pkg/index.js": "module.exports = { version: '1.2.3' };",
  "/node_modules/pkg/package.json": JSON.stringify({ name: "pkg", main: "index.js" }),
};

const modes = [
  { name: "in-thread", make: (o: object = {}) => new RExec({ hooks: new MemoryHooks({ files }), ...o }) },
  { name: "worker", make: (o: object = {}) => new RExec({ hooks: new MemoryHooks({ files }), worker: true, ...o }) },
];

for (const mode of modes) {
  describe(`eval semantics (${mode.name})`, () => {
    it("top-level await: the completion value stays the result", async () => {
      using rx = mode.make();
      assert.equal(await rx.r_eval("await Promise.resolve(7)"), 7);
      assert.equal(await rx.r_eval("const x = await Promise.resolve(21); x * 2"), 42);
      assert.equal(await rx.r_eval("for await (const v of [Promise.resolve(1)]) {} 'done'"), "done");
      assert.equal(await rx.s_eval("await 5"), 5);
      assert.equal(await rx.r_exec("await null"), undefined);
      await rx.s_exec("globalThis.fromS = await 9");
      assert.equal(await rx.r_eval("fromS"), 9);
    });

    it("top-level declarations stay visible to later calls, as in Node's REPL", async () => {
      using rx = mode.make();
      await rx.r_exec("const a = await Promise.resolve(1); let b = 2; var c = 3; function f() { return a + b + c; } class K { v() { return 'k'; } }; const { d, e: [g] } = { d: 4, e: [5] };");
      assert.equal(await rx.r_eval("f() + d + g"), 15);
      assert.equal(await rx.r_eval("new K().v()"), "k");
      // Without await the code runs unchanged: its declarations persist as before.
      await rx.r_exec("const plain = 10");
      assert.equal(await rx.r_eval("await 0; plain + a"), 11);
    });

    it("an await that throws reports the guest error with the right line", async () => {
      using rx = mode.make();
      const error = await rx.r_eval("const v = await 1;\nnull.x", { filename: "tla.js" }).catch((e) => e);
      assert.ok(error instanceof GuestError, String(error));
      assert.equal(error.guestName, "TypeError");
      const frame = error.frames.find((f: { fileName: string }) => f.fileName === "tla.js");
      assert.ok(frame, error.guestStack);
      assert.equal(frame.line, 2);
      assert.equal(frame.column, 5);
    });

    it("require works in eval code: hooks, packages, builtins, policy; relative to cwd", async () => {
      using rx = mode.make();
      assert.equal(await rx.r_eval("require('./lib/calc.js').double(21)"), 42);
      assert.equal(await rx.r_eval("require('pkg').version"), "1.2.3");
      assert.equal(await rx.r_eval("require('path').join('a', 'b')"), "a/b");
      assert.equal(await rx.r_eval("require('./lib/calc.js') === require('/lib/calc.js')"), true);
      await assert.rejects(rx.r_eval("require('child_process')"), RestrictedError);
      await assert.rejects(rx.r_eval("require('./nope.js')"), ModuleNotFoundError);
      assert.equal(await rx.r_eval("const m = await Promise.resolve(require('./lib/calc.js')); m.name"), "calc");
    });

    it("static import is rewritten to import(): default, named, namespace, side-effect", async () => {
      using rx = mode.make();
      assert.equal(await rx.r_eval("import hello, { three } from './lib/esm.mjs';\nhello(three)"), "hello 3");
      assert.equal(await rx.r_eval("import * as ns from './lib/esm.mjs'; ns.three"), 3);
      assert.equal(await rx.r_eval("import { double as dbl } from './lib/calc.js'; dbl(4)"), 8);
      assert.equal(await rx.r_eval("import './lib/calc.js'; 'side'"), "side");
      // The bindings persist, like the REPL's declarations.
      assert.equal(await rx.r_eval("hello('again')"), "hello again");
      await assert.rejects(rx.r_eval("import x from 'child_process'; x"), RestrictedError);
    });

    it("TypeScript when asked for: filename *.ts or language: 'ts'", async () => {
      using rx = mode.make();
      assert.equal(await rx.r_eval("const n: number = 1; n + 1", { filename: "x.ts" }), 2);
      assert.equal(await rx.r_eval("enum E { A = 5 } E.A as number", { language: "ts" }), 5);
      assert.equal(await rx.r_eval("const t: string = await Promise.resolve('ts'); t", { language: "ts" }), "ts");
      const error = await rx.r_eval("interface I { a: number }\nconst i: I = { a: 1 };\n(i as any).b.c", { filename: "bad.ts" }).catch((e) => e);
      assert.ok(error instanceof GuestError, String(error));
      const frame = error.frames.find((f: { fileName: string }) => f.fileName === "bad.ts");
      assert.ok(frame, error.guestStack);
      assert.equal(frame.line, 3);
      const syntax = await rx.r_eval("const x: = 1", { language: "ts" }).catch((e) => e);
      assert.ok(syntax instanceof GuestError, String(syntax));
      assert.equal(syntax.guestName, "SyntaxError");
      assert.match(syntax.message, /<eval>:1:10/);
      // Plain JavaScript is not transpiled: a type annotation stays a syntax error.
      await assert.rejects(rx.r_eval("const y: number = 1"), (e: unknown) => e instanceof GuestError && e.guestName === "SyntaxError");
      await assert.rejects(rx.r_eval("1", { language: "py" as never }), /language must be "js" or "ts"/);
    });

    it("hostile input: a deep nesting or huge code still fails cleanly", async () => {
      using rx = mode.make();
      const deep = `await 0; ${"[".repeat(5000)}${"]".repeat(5000)}`;
      const error = await rx.r_eval(deep).catch((e) => e);
      assert.ok(error instanceof Error);
      assert.equal(await rx.r_eval("await 1 + 1"), 2);
    });

    it("hostile input: code cannot break out of the top-level-await wrapper", async () => {
      using rx = mode.make();
      // Only code that parses whole is rewritten: unbalanced text stays a syntax error, nothing of it runs.
      for (const code of ["await 1; }); globalThis.escaped = 1; (async () => {", "await 1 })(); globalThis.escaped = 1; (() => {", "await 0;\n})()\nglobalThis.escaped = 1"]) {
        const error = await rx.r_eval(code).catch((e) => e);
        assert.ok(error instanceof GuestError && error.guestName === "SyntaxError", `${code}: ${String(error)}`);
      }
      assert.equal(await rx.r_eval("typeof escaped"), "undefined");
      // A string or comment that looks like the wrapper is just text.
      assert.equal(await rx.r_eval("await 0; /* })() */ '})(); (async () => {'"), "})(); (async () => {");
    });
  });
}

describe("eval semantics (pool)", () => {
  const pool = new RExecPool({ size: 1, hooks: new MemoryHooks({ files }) });
  after(() => pool.close({ force: true }));
  it("top-level await, require, import and TypeScript in pool runs", async () => {
    assert.equal((await pool.run("await Promise.resolve(7)")).value, 7);
    assert.equal((await pool.run("require('./lib/calc.js').double(5)")).value, 10);
    assert.equal((await pool.run("import { three } from './lib/esm.mjs'; three")).value, 3);
    assert.equal((await pool.run("const n: number = 4; n", { filename: "p.ts" })).value, 4);
    assert.equal((await pool.run("const n: number = 5; n", { language: "ts" })).value, 5);
  });
});

const scriptFiles = {
  "/main.js": "globalThis.runs = (globalThis.runs || 0) + 1; require('./dep.js'); console.log('main ran');",
  "/dep.js": "globalThis.depRuns = (globalThis.depRuns || 0) + 1;",
  "/esm-main.mjs": "import { bump } from './esm-dep.mjs'; globalThis.esmRuns = (globalThis.esmRuns || 0) + 1; bump();",
  "/esm-dep.mjs": "let n = 0; globalThis.esmDepEvals = (globalThis.esmDepEvals || 0) + 1; export function bump() { globalThis.bumps = ++n; }",
  "/sub/tool.ts": "const label: string = 'tool'; globalThis.tool = label;",
  "/node_modules/main.js/index.js": "globalThis.wrong = 'the package, not the file';",
  "/node_modules/main.js/package.json": JSON.stringify({ name: "main.js", main: "index.js" }),
};

for (const worker of [false, true]) {
  describe(`r_execfile takes a path like \`node main.js\` (${worker ? "worker" : "in-thread"})`, () => {
    it("a bare name is a file relative to the cwd, not a package; ./ and absolute paths still work", async () => {
      using rx = new RExec({ hooks: new MemoryHooks({ files: scriptFiles }), worker });
      await rx.r_execfile("main.js");
      assert.equal(rx.output.stdout, "main ran\n");
      assert.equal(await rx.r_eval("typeof wrong"), "undefined");
      await rx.r_execfile("sub/tool.ts");
      assert.equal(await rx.r_eval("tool"), "tool");
      await rx.r_execfile("./main.js");
      await rx.r_execfile("/main.js");
      assert.equal(await rx.r_eval("runs"), 3);
      await assert.rejects(rx.r_execfile("nope.js"), ModuleNotFoundError);
    });

    it("running the same file twice runs it twice; its imports stay cached (Node's module cache)", async () => {
      using rx = new RExec({ hooks: new MemoryHooks({ files: scriptFiles }), worker });
      await rx.r_execfile("main.js");
      await rx.s_execfile("main.js");
      await rx.r_execfile("main.js");
      assert.equal(await rx.r_eval("runs"), 3);
      assert.equal(await rx.r_eval("depRuns"), 1);
      await rx.r_execfile("esm-main.mjs");
      await rx.r_execfile("esm-main.mjs");
      assert.deepEqual(await rx.r_eval("[esmRuns, esmDepEvals, bumps]"), [2, 1, 2]);
    });
  });
}

it("top-level await: a parenthesised last expression is still the result (object literals, sequences, nested parens)", async () => {
  using rx = new RExec();
  assert.deepEqual(await rx.r_eval("await 1;\n({ a: 1 })"), { a: 1 });
  assert.equal(await rx.r_eval("await 1; (1), 2"), 2);
  assert.equal(await rx.r_eval("const y = await Promise.resolve(3); ((y)) * 2"), 6);
  assert.equal(await rx.r_eval("await 1; (((y)))"), 3);
});
