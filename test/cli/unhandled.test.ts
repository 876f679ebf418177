// The CLI and unhandled guest rejections, as a subprocess: like `node file.js`,
// a rejection nobody handles ends the run with that error, printed with its
// code frame, and exit code 1; one handled later in the run does not.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rexec } from "./helpers.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "rexec-cli-unhandled-"));
  writeFileSync(join(dir, "main.js"), 'console.log("start");\nasync function main() {\n  await null;\n  throw new Error("x");\n}\nmain();\n');
  writeFileSync(join(dir, "top.mjs"), "Promise.reject(new TypeError('from a module'));\n");
  writeFileSync(join(dir, "late.js"), "const p = Promise.reject(new Error('late'));\nsetTimeout(() => { p.catch(() => {}); console.log('handled'); }, 5);\n");
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("an async main that throws after an await: the error with its code frame, exit 1", async () => {
  const r = await rexec(["run", join(dir, "main.js")]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "start\n");
  assert.match(r.stderr, /^Error: x$/m);
  assert.match(r.stderr, /main\.js:4:\d+/);
  assert.match(r.stderr, /throw new Error\("x"\);/);
});

test("a top-level Promise.reject in a module: exit 1 with the error; one handled later: exit 0", async () => {
  const top = await rexec(["run", join(dir, "top.mjs")]);
  assert.equal(top.code, 1, top.stderr);
  assert.match(top.stderr, /TypeError: from a module/);
  const late = await rexec(["run", join(dir, "late.js")]);
  assert.equal(late.code, 0, late.stderr);
  assert.equal(late.stdout, "handled\n");
});
