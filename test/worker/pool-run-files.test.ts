// RExecPool.run(code, { files }): a run's own module files (issue 15's "code or
// module files"), visible to that run only, bounded, with the pool's policy.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { GuestError, RExecPool, RestrictedError } from "../../src/index.js";

describe("RExecPool.run files", () => {
  const pool = new RExecPool({ size: 1, globals: { base: 100 } });
  after(() => pool.close({ force: true }));

  it("a run imports and requires its own files (ESM, CommonJS, JSON, relative paths)", async () => {
    const files = {
      "lib/math.js": "export const add = (a, b) => a + b;",
      "/lib/names.cjs": "module.exports = { greet: (n) => 'hi ' + n };",
      "data.json": '{ "n": 41 }',
      "main.js": "import { add } from './lib/math.js'; import data from './data.json' with { type: 'json' }; export default add(data.n, 1);",
    };
    const { value } = await pool.run("const { greet } = require('./lib/names.cjs'); const m = await import('./main.js'); greet(m.default + base)", { files });
    assert.equal(value, "hi 142");
  });

  it("files are the run's alone: the next run (same thread) sees none, and the pool's hooks are back", async () => {
    await pool.run("(await import('./only.js')).x", { files: { "only.js": "export const x = 1" } });
    await assert.rejects(pool.run("(await import('./only.js')).x"), (e: Error) => /only\.js/.test(e.message));
    assert.equal((await pool.run("base + 1")).value, 101);
  });

  it("a run's files are not the host's file system: paths outside them are not found", async () => {
    await assert.rejects(pool.run("require('/etc/passwd')", { files: { "a.js": "1" } }), (e: Error) => e instanceof GuestError || e instanceof RestrictedError || /not found|ENOENT|Cannot find/i.test(e.message));
  });

  it("a run's files do not widen the pool's policy: its builtin modules stay denied, in the files too", async () => {
    const strict = new RExecPool({ size: 1, okBuiltinModules: [] });
    try {
      const files = { "a.js": "module.exports = require('path').join('a', 'b')" };
      for (const code of ["require('path').join('a', 'b')", "require('./a.js')", "(await import('path')).join('a', 'b')"]) {
        await assert.rejects(strict.run(code, { files }), (e: Error) => e instanceof RestrictedError && /builtin module "path"/.test(e.message), code);
      }
      assert.equal((await strict.run("require('./b.js')", { files: { "b.js": "module.exports = 3" } })).value, 3);
    } finally {
      await strict.close({ force: true });
    }
  });

  it("bad files are refused before anything runs, with clear errors", async () => {
    await assert.rejects(pool.run("1", { files: 5 } as never), /"files" must be an object/);
    await assert.rejects(pool.run("1", { files: { "a.js": 5 } } as never), /content of "a\.js" must be a string/);
    await assert.rejects(pool.run("1", { files: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`f${i}.js`, ""])) }), /at most 1000/);
    await assert.rejects(pool.run("1", { files: { "big.js": "x".repeat(17 * 1024 * 1024) } }), /larger than/);
    // Names the run's tree cannot take are refused before the run is queued (TypeError, not a dead run).
    for (const name of ["a\u0000.js", "..", "/", "../../etc/passwd"]) {
      await assert.rejects(pool.run("1", { files: { [name]: "1" } }), (e: Error) => e instanceof TypeError && /MemoryHooks: (invalid file name|file name .* is outside the tree)/.test(e.message));
    }
    assert.equal((await pool.run("2")).value, 2);
  });
});
