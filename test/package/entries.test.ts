// The package as users consume it (issue 12): `require("rexec")` from a CommonJS file, and the
// declaration files compiled by a strict consumer with @types/node and no DOM lib. Both use the
// built package (dist/, `npm run build`), resolved through a node_modules symlink in a temp dir.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";

const root = fileURLToPath(new URL("../..", import.meta.url));
let dir = "";

before(() => {
  assert.ok(existsSync(join(root, "dist/index.cjs")), "dist/index.cjs is missing: run `npm run build` first");
  dir = mkdtempSync(join(tmpdir(), "rexec-entry-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(root, join(dir, "node_modules/rexec"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("package entries", () => {
  it('require("rexec") works from a CommonJS file: in-thread, worker mode, pool, typed errors', () => {
    writeFileSync(join(dir, "main.cjs"), `
      const { RExec, RExecPool, GuestError, AbortError, MemoryHooks } = require("rexec");
      (async () => {
        const rx = new RExec({ hooks: new MemoryHooks({ files: { "/m.js": "exports.x = 41;" } }) });
        const a = await rx.r_eval("require('./m.js').x + 1");
        const b = await rx.r_eval("const t: number = await Promise.resolve(2); t", { language: "ts" });
        const err = await rx.r_eval("null.x").catch((e) => e instanceof GuestError);
        const aborted = await rx.r_eval("1", { signal: AbortSignal.abort() }).catch((e) => e instanceof AbortError);
        rx.dispose();
        const w = new RExec({ worker: true });
        const c = await w.r_eval("6 * 7");
        const werr = await w.r_eval("null.x").catch((e) => e instanceof GuestError);
        w.dispose();
        const pool = new RExecPool({ size: 1 });
        const d = (await pool.run("input * 2", { input: 21 })).value;
        await pool.close();
        console.log(JSON.stringify([a, b, err, aborted, c, werr, d]));
      })().catch((e) => { console.error(e); process.exit(1); });
    `);
    const out = execFileSync(process.execPath, [join(dir, "main.cjs")], { cwd: dir, encoding: "utf8", timeout: 120_000 });
    assert.deepEqual(JSON.parse(out.trim()), [42, 2, true, true, 42, true, 42]);
  });

  it("the declarations compile under strict with @types/node and no DOM lib, for ESM and CommonJS consumers", () => {
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022",
        lib: ["es2022"], types: ["node"], typeRoots: [join(root, "node_modules/@types")], skipLibCheck: false,
      },
      files: ["consumer.mts", "consumer.cts"],
    }));
    writeFileSync(join(dir, "consumer.mts"), `
      import { RExec, RExecPool, AbortError, GuestError, type CallOptions, type PoolRunResult } from "rexec";
      const rx = new RExec({ limits: { timeoutMs: 100 } });
      const n: number = await rx.r_eval<number>("1 + 1");
      const u = await rx.r_eval("1");
      // @ts-expect-error the default result type is unknown
      const notNumber: number = u;
      const calc = await rx.r_import<{ add(a: number, b: number): Promise<number> }>("./calc.js");
      const sum: Promise<number> = calc.add(1, 2);
      const ns: Record<string, unknown> = await rx.r_import("./calc.js");
      const options: CallOptions = { filename: "x.ts", language: "ts", signal: AbortSignal.timeout(10) };
      await rx.s_eval<string>("'s'", options);
      const pool = new RExecPool({ size: 1 });
      const run: PoolRunResult<string> = await pool.run<string>("'x'", { input: { a: 1 }, globals: { f: () => 1 } });
      const s: string = run.value;
      const e: unknown = new AbortError("why");
      if (e instanceof GuestError) console.log(e.guestName);
      export { n, notNumber, sum, ns, s };
    `);
    writeFileSync(join(dir, "consumer.cts"), `
      import rexec = require("rexec");
      const rx = new rexec.RExec();
      export const p: Promise<number> = rx.r_eval<number>("1");
    `);
    try {
      execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", dir], { cwd: dir, encoding: "utf8", timeout: 120_000 });
    } catch (error) {
      assert.fail(`tsc failed:\n${(error as { stdout?: string }).stdout}`);
    }
  });
});
