import { test } from "node:test";
import assert from "node:assert/strict";
import { RExec, MemoryHooks } from "../../src/index.js";

test("prepared sources are shared between realms but never stale: a changed file is prepared anew", async () => {
  const make = (body: string) => new RExec({ hooks: new MemoryHooks({ files: { "/m.ts": body } }) });
  using a = make("export const v: number = 1;");
  using b = make("export const v: number = 1;");
  using c = make("enum E { A = 7 } export const v: number = E.A;");
  assert.equal((await a.r_import("./m.ts")).v, 1);
  assert.equal((await b.r_import("./m.ts")).v, 1);
  assert.equal((await c.r_import("./m.ts")).v, 7);
});

test("an ambiguous .js file without import/export/await is CommonJS; with them it is ESM", async () => {
  using rx = new RExec({ hooks: new MemoryHooks({ files: {
    "/cjs.js": "module.exports = { kind: typeof module };",
    "/esm.js": "export const kind = typeof module;",
    "/word.js": "module.exports = { note: 'this string says import but is CommonJS' };",
  } }) });
  assert.deepEqual(await rx.r_import("./cjs.js"), { kind: "object" });
  assert.equal((await rx.r_import("./esm.js")).kind, "undefined");
  assert.equal((await rx.r_import("./word.js")).note, "this string says import but is CommonJS");
});
