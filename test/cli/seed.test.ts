// `rexec --seed N`: deterministic runs from the command line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rexec } from "./helpers.js";

const CODE = "JSON.stringify([Math.random(), crypto.randomUUID(), Date.now(), new Date().toISOString()])";

test("rexec eval --seed prints the same bytes twice, and other bytes for another seed", async () => {
  const a = await rexec(["eval", "-p", "--seed", "7", CODE]);
  const b = await rexec(["eval", "-p", "--seed", "7", CODE]);
  const c = await rexec(["eval", "-p", "--seed", "8", CODE]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  assert.notEqual(a.stdout, c.stdout);
  assert.match(a.stdout, /,0,"1970-01-01T00:00:00\.000Z"\]/);
});

test("rexec --seed with a bad value is a usage error", async () => {
  const r = await rexec(["eval", "-p", "--seed", "x".repeat(300), "1"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /seed must be/);
});
