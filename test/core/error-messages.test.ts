/**
 * End-to-end: QuickJS-ng's TypeErrors, as a host sees them through RExec, name
 * what failed and point at the line it failed on (src/host/error-enrich.ts,
 * wired in EvalMemory.mapError, src/host/eval-memory.ts) — for r_eval, ES modules, CommonJS, TypeScript and
 * worker mode. Errors a native function threw, and errors in code the host
 * cannot identify exactly, keep the engine's own report.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RExec, GuestError, MemoryHooks } from "../../src/index.js";
import { enrichEngineError } from "../../src/host/error-enrich.js";

const THREE_LINES = "const d = {}\nconst r =\n  d.items.map(x => x)";
const MISSING = "const obj = {};\nobj.missing()";

async function guestError(run: () => Promise<unknown>): Promise<GuestError> {
  try {
    await run();
  } catch (e) {
    assert.ok(e instanceof GuestError, `expected a GuestError, got ${String(e)}`);
    return e;
  }
  throw new Error("the guest code did not throw");
}

/** The top frame agrees in frames, guestStack and stack; the message is in stack. */
function assertTop(e: GuestError, file: string, line: number, column?: number): void {
  const top = e.frames[0]!;
  assert.equal(top.fileName, file, e.guestStack);
  assert.equal(top.line, line, e.guestStack);
  if (column !== undefined) assert.equal(top.column, column, e.guestStack);
  const first = e.guestStack.split("\n")[0]!;
  assert.ok(first.endsWith(`${file}:${top.line}:${top.column})`) || first.endsWith(`${file}:${top.line}:${top.column}`), first);
  assert.ok(e.stack!.startsWith(`GuestError: TypeError: ${e.message}\n${first}`), e.stack);
}

test("r_eval: a failed property read names the object and is reported on its line", async () => {
  using rx = new RExec({ engine: "quickjs-ng" });
  const e = await guestError(() => rx.r_eval(THREE_LINES));
  assert.equal(e.guestName, "TypeError");
  assert.equal(e.message, "cannot read property 'map' of undefined (reading d.items.map)");
  assertTop(e, "<eval>", 3, 10);
});

test("r_exec with a filename: a missing method is named", async () => {
  using rx = new RExec({ engine: "quickjs-ng" });
  const e = await guestError(() => rx.r_exec(MISSING, { filename: "/script.js" }));
  assert.equal(e.message, "obj.missing is not a function");
  assertTop(e, "/script.js", 2, 5);
});

test("a function defined and called in the same r_eval", async () => {
  using rx = new RExec({ engine: "quickjs-ng" });
  const e = await guestError(() => rx.r_eval("function f(d) {\n  const z = 1;\n  return d.a.b\n}\nf({})"));
  assert.equal(e.message, "cannot read property 'b' of undefined (reading d.a.b)");
  assertTop(e, "<eval>", 3, 13);
  assert.equal(e.frames[1]!.line, 5);
});

test("ES module through MemoryHooks", async () => {
  const hooks = new MemoryHooks({
    files: {
      "/esm.mjs": `export const x = 1;\n${THREE_LINES}\n`,
      "/esm2.mjs": `export const y = 2;\n${MISSING}\n`,
    },
  });
  using rx = new RExec({ engine: "quickjs-ng", hooks });
  const e = await guestError(() => rx.r_import("./esm.mjs"));
  assert.equal(e.message, "cannot read property 'map' of undefined (reading d.items.map)");
  assertTop(e, "/esm.mjs", 4, 10);
  const e2 = await guestError(() => rx.r_import("./esm2.mjs"));
  assert.equal(e2.message, "obj.missing is not a function");
  assertTop(e2, "/esm2.mjs", 3, 5);
});

test("CommonJS file (the wrapper header shares line 1) through MemoryHooks", async () => {
  const hooks = new MemoryHooks({
    files: {
      "/c.cjs": `exports.x = 1;\n${THREE_LINES}\n`,
      "/one.cjs": "const obj = {}; obj.missing(1)",
      "/two.cjs": "const d = {}; const r = d.items.map(x => x)",
    },
  });
  using rx = new RExec({ engine: "quickjs-ng", hooks });
  const e = await guestError(() => rx.r_execfile("/c.cjs"));
  assert.equal(e.message, "cannot read property 'map' of undefined (reading d.items.map)");
  assertTop(e, "/c.cjs", 4, 10);
  const e1 = await guestError(() => rx.r_import("./one.cjs"));
  assert.equal(e1.message, "obj.missing is not a function");
  assertTop(e1, "/one.cjs", 1, 21);
  const e2 = await guestError(() => rx.r_import("./two.cjs"));
  assert.equal(e2.message, "cannot read property 'map' of undefined (reading d.items.map)");
  assertTop(e2, "/two.cjs", 1, 32);
});

test("TypeScript files: enriched on the transpiled code, then mapped to the .ts lines", async () => {
  const hooks = new MemoryHooks({
    files: {
      "/t.ts": "interface D {\n  items?: number[];\n}\nconst d: D = {};\nconst r: number[] =\n  d.items!.map((x: number) => x);\nexport {};\n",
      "/m.cts": "type O = { missing?: () => void };\nconst obj: O = {};\nobj.missing!();\n",
    },
  });
  using rx = new RExec({ engine: "quickjs-ng", hooks });
  const e = await guestError(() => rx.r_import("./t.ts"));
  assert.match(e.message, /^cannot read property 'map' of undefined \(reading d\.items\.map\)$/);
  assertTop(e, "/t.ts", 6);
  const e2 = await guestError(() => rx.r_import("./m.cts"));
  assert.equal(e2.message, "obj.missing is not a function");
  assertTop(e2, "/m.cts", 3);
});

test("worker mode", async () => {
  using rx = new RExec({ engine: "quickjs-ng", worker: true });
  const e = await guestError(() => rx.r_eval(THREE_LINES));
  assert.equal(e.message, "cannot read property 'map' of undefined (reading d.items.map)");
  assertTop(e, "<eval>", 3, 10);
  const e2 = await guestError(() => rx.r_exec(MISSING, { filename: "/w.js" }));
  assert.equal(e2.message, "obj.missing is not a function");
  assertTop(e2, "/w.js", 2, 5);
});

test("a native function that threw: the engine's report is kept (the callee is not the culprit)", async () => {
  using rx = new RExec({ engine: "quickjs-ng" });
  for (const code of ["const a = [1];\na.forEach(undefined)", "Reflect.apply(5)", "Array.from([1], 5)"]) {
    const e = await guestError(() => rx.r_eval(code));
    assert.equal(e.message, "not a function", code);
  }
});

test("a function from an earlier r_eval under the same file name: no guessing from the newer code", async () => {
  using rx = new RExec({ engine: "quickjs-ng" });
  await rx.r_exec("function f(d) {\n  return d.a.b\n}");
  // Newer code under the same name that has a `.b` where f failed: it must not be quoted.
  await rx.r_exec("const g = { a: { b: 1 } };\ng.a.b");
  const e = await guestError(() => rx.r_eval("f({}); g.a.b"));
  assert.equal(e.message, "cannot read property 'b' of undefined");
  // A distinct file name keeps it identifiable.
  await rx.r_exec("function h(d) {\n  return d.a.b\n}", { filename: "/h.js" });
  const e2 = await guestError(() => rx.r_eval("h({})"));
  assert.equal(e2.message, "cannot read property 'b' of undefined (reading d.a.b)");
  assertTop(e2, "/h.js", 2, 13);
});

test("classic QuickJS reports positions itself: its errors are left alone", async () => {
  using rx = new RExec({ engine: "quickjs" });
  const e = await guestError(() => rx.r_eval(MISSING));
  assert.equal(e.message, "not a function");
});

test("hostile 5 MB single-line sources stay fast (end to end and direct)", async () => {
  const filler = " ".repeat(5_000_000);
  const hooks = new MemoryHooks({
    files: {
      "/big.cjs": `const d = {}; const r = d.items${filler}.map(1)`,
      "/big2.cjs": `const o = {}; o${filler}.missing([${"[1], ".repeat(100_000)}])`,
    },
  });
  using rx = new RExec({ engine: "quickjs-ng", hooks, limits: { timeoutMs: 20_000 } });
  const t = Date.now();
  const e = await guestError(() => rx.r_import("./big.cjs"));
  assert.ok(e.message.startsWith("cannot read property 'map' of undefined"), e.message);
  const e2 = await guestError(() => rx.r_import("./big2.cjs"));
  assert.ok(e2.message.endsWith("not a function"), e2.message);
  const line = "a.".repeat(2_500_000) + "b";
  for (const message of ["not a function", "cannot read property 'a' of undefined", "cannot set property 'zz' of null"]) {
    for (const column of [1, 2_500_000, 5_000_000]) enrichEngineError({ message, line: 1, column }, line);
  }
  // A hang guard, not a timing target: a quadratic scan of 5 MB takes minutes.
  assert.ok(Date.now() - t < 15_000, `${Date.now() - t} ms`);
});

test("remembered r_eval code is bounded, and a forgotten file name is never taken for the only code run under it", async () => {
  using rx = new RExec({ engine: "quickjs-ng" });
  await rx.r_exec("function f(d) {\n  return d.a.b\n}", { filename: "/n0.js" });
  for (let i = 1; i <= 300; i++) await rx.r_exec(`${i}`, { filename: `/n${i}.js` });
  // /n0.js was dropped from the history; new code under that name has a `.b` where f failed.
  await rx.r_exec("const g = { a: { b: 1 } };\ng.a.b", { filename: "/n0.js" });
  const e = await guestError(() => rx.r_eval("f({})"));
  assert.equal(e.message, "cannot read property 'b' of undefined");
  for (let i = 0; i < 5; i++) await rx.r_exec(`var big${i} = 1;${" ".repeat(1_500_000)}`, { filename: `/big${i}.js` });
  const kept = [...(rx as unknown as { evalMemory: { evalSources: Map<string, { code?: string }> } }).evalMemory.evalSources.values()];
  assert.ok(kept.length <= 256, `${kept.length} names`);
  const chars = kept.reduce((n, entry) => n + (entry.code?.length ?? 0), 0);
  assert.ok(chars <= 2 * 1024 * 1024, `${chars} characters kept`);
  // The newest code is still there: the running call's errors are still improved.
  const e2 = await guestError(() => rx.r_eval(`const d = {};${" ".repeat(1_000_000)}\nd.items.map(1)`, { filename: "/big0.js" }));
  assert.equal(e2.message, "cannot read property 'map' of undefined (reading d.items.map)");
});
