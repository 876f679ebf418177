// A new user's and a hostile script's view of the command line (issue 13 review):
// each test here was seen failing before its fix.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, rexec } from "./helpers.js";

const NODE_INTERNALS = /node:internal|node:events|dist\/cli|Unhandled 'error'/;

/** `node bin/rexec.js args | head -n 2` through a shell: stderr and rexec's own exit status. */
function intoHead(args: string[]): Promise<{ status: string; stdout: string; stderr: string }> {
  const quoted = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", `${quoted} | head -n 2; echo "status=\${PIPESTATUS[0]}" >&2`], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", () => resolve({ status: /status=(\d+)/.exec(stderr)?.[1] ?? "?", stdout, stderr: stderr.replace(/status=\d+\n?/, "") }));
  });
}

describe("rexec CLI review", () => {
  let dir: string;
  before(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), "rexec-review-")));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("output piped into a reader that stops (| head) ends quietly: no EPIPE stack, like node", async () => {
    const logs = await intoHead(["eval", "for (let i = 0; i < 1e6; i++) console.log('line ' + i)"]);
    assert.equal(logs.stdout, "line 0\nline 1\n");
    assert.ok(!/EPIPE|Error/.test(logs.stderr) && !NODE_INTERNALS.test(logs.stderr), logs.stderr);
    assert.equal(logs.status, "0", logs.stderr);
    const writes = await intoHead(["eval", "--max-output", "100m", "--timeout", "20s", "const s = 'x'.repeat(1e5) + '\\n'; for (let i = 0; i < 1e4; i++) process.stdout.write(s)"]);
    assert.ok(!/EPIPE|Error/.test(writes.stderr) && !NODE_INTERNALS.test(writes.stderr), writes.stderr);
    assert.equal(writes.status, "0", writes.stderr);
  });
});
