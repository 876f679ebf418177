// `rexec check` / `rexec run --check`: TypeScript guests type-checked with the real
// compiler before running, like `deno check`; off by default.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rexec } from "./helpers.js";

let dir: string;
before(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "rexec-check-")));
  writeFileSync(join(dir, "bad.ts"), "const n: number = 'one';\nconsole.log('ran', n);\n");
  writeFileSync(join(dir, "good.ts"), "import { twice } from './lib.ts';\nconst n: number = twice(21);\nconsole.log('ran', n, process.argv.length > 0);\n");
  writeFileSync(join(dir, "lib.ts"), "export function twice(x: number): number { return x * 2; }\n");
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("rexec check reports type errors as file:line:col with a non-zero exit, and runs nothing", async () => {
  const r = await rexec(["check", "bad.ts"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^bad\.ts:1:7 - error TS2322: Type 'string' is not assignable to type 'number'\.$/m);
  assert.equal(r.stdout, "");
  const run = await rexec(["run", "--check", "bad.ts"], { cwd: dir });
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "", "a script that fails the check does not run");
});

test("run --check runs a script that passes; without --check a type error does not stop the run", async () => {
  const good = await rexec(["run", "--check", "good.ts"], { cwd: dir });
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stdout, "ran 42 true\n");
  const checkOnly = await rexec(["check", "good.ts"], { cwd: dir });
  assert.equal(checkOnly.code, 0, checkOnly.stderr);
  assert.equal(checkOnly.stdout, "");
  const unchecked = await rexec(["run", "bad.ts"], { cwd: dir });
  assert.equal(unchecked.code, 0, unchecked.stderr);
  assert.equal(unchecked.stdout, "ran one\n");
});
