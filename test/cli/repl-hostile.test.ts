// `rexec repl` with piped input that never completes: every line used to re-run the
// whole unfinished entry (quadratic). The pending entry is capped; over the cap it
// is reported and discarded, and the REPL carries on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rexec } from "./helpers.js";

test("an unfinished 400 KB entry is discarded with a clear error, and the REPL continues", async () => {
  const input = "[\n" + `1${" ".repeat(47)},\n`.repeat(8192) + "\n6 * 7\n";
  const started = Date.now();
  const r = await rexec(["repl"], { input });
  // Hang guard only (generous): before the cap this took about a minute.
  assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  assert.match(r.stderr, /input too long for one REPL entry/);
  assert.match(r.stdout, /^42$/m, "the REPL evaluates the next entry after discarding the long one");
});
