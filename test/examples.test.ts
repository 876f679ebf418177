// The library examples in examples/ run as a user would run them — `node
// examples/<name>.mjs` against the built package in dist/ (build first:
// `node scripts/build.mjs`, as for the CLI tests) — and print what their header
// comments promise. The CLI example runs through the real `rexec` binary with
// the permission flags its header shows, and without them.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, rexec, runNode, type Result } from "./cli/helpers.js";

/** Run `node examples/<file>` from the repository root. */
function runExample(file: string): Promise<Result> {
  return runNode([join("examples", file)]);
}

/** The output line that starts with `prefix` (fails if there is none). */
function line(out: string, prefix: string): string {
  const found = out.split("\n").find((l) => l.startsWith(prefix));
  assert.ok(found !== undefined, `no line starting with ${JSON.stringify(prefix)} in:\n${out}`);
  return found;
}

before(() => {
  assert.ok(existsSync(join(repoRoot, "dist", "index.js")), "dist/index.js is missing: run `node scripts/build.mjs` first");
});

describe("examples", { timeout: 60_000 }, () => {
  test("formulas.mjs: values, and typed errors for a throw, a CPU limit and a memory limit", async () => {
    const r = await runExample("formulas.mjs");
    assert.equal(r.code, 0, r.stderr);
    assert.match(line(r.stdout, "D1 "), /→ 18$/);
    assert.match(line(r.stdout, "D2 "), /→ 1\.83$/);
    assert.match(line(r.stdout, "D3 "), /→ negative$/);
    assert.match(line(r.stdout, "D4 "), /→ #ERROR ReferenceError: .*NOPE/);
    assert.match(line(r.stdout, "D5 "), /→ #TIMEOUT \(timeoutMs = 100 ms\)$/);
    assert.match(line(r.stdout, "D6 "), /→ #MEMORY \(memoryBytes = 16777216 bytes\)$/);
  });

  test("plugins.mjs: a plugin with granted host functions; a denied builtin; copies only", async () => {
    const r = await runExample("plugins.mjs");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(line(r.stdout, "plugin:"), "plugin: invoice");
    assert.equal(line(r.stdout, "file:"), "file: invoices/A7.txt");
    assert.match(line(r.stdout, "pen"), /^pen\s+4\.50$/);
    assert.match(line(r.stdout, "ink"), /^ink\s+12\.00$/);
    assert.equal(line(r.stdout, "audit:"), "audit: rendered invoice A7");
    assert.match(line(r.stdout, "greedy plugin refused:"), /builtin module "fs" \(to allow: add "fs" to okBuiltinModules\)/);
    assert.equal(line(r.stdout, "price in the plugin:"), "price in the plugin: 0, in the host: 1.5");
  });

  test("code-mode.mjs: tools, deterministic replay, a tool error, an aborted runaway, the pool still serving", async () => {
    const r = await runExample("code-mode.mjs");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(line(r.stdout, "warmest:"), "warmest: Lima");
    assert.match(line(r.stdout, "  Lima"), /^ {2}Lima +22 °C {2}[0-9a-f]{8}$/);
    assert.match(line(r.stdout, "  Oslo"), /^ {2}Oslo +-3 °C {2}[0-9a-f]{8}$/);
    assert.equal(line(r.stdout, "at:"), "at: 2025-01-01T00:00:00.000Z");
    assert.equal(line(r.stdout, "replay identical:"), "replay identical: true");
    assert.equal(line(r.stdout, "tool error:"), "tool error: Error: no forecast for Atlantis");
    assert.equal(line(r.stdout, "runaway program:"), "runaway program: AbortError (ABORT_ERR)");
    assert.equal(line(r.stdout, "pool still serving:"), "pool still serving: 42");
    // Deterministic mode: the same seed gives the same ids in a second process too.
    const again = await runExample("code-mode.mjs");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, r.stdout);
  });

  describe("cli-script.mjs through `rexec run`", () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), "rexec-examples-"))));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const script = "examples/cli-script.mjs";
    const orders = "examples/plugin/orders.json";

    test("with the flags of its header it reads, sees CURRENCY and writes", async () => {
      const out = join(dir, "total.txt");
      const r = await rexec(["run", "--allow-read=examples/plugin", "--allow-env=CURRENCY", `--allow-write=${dir}`, script, orders, out], { env: { CURRENCY: "USD" } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `3 orders, 123.24 USD\nwritten to ${out}\n`);
      assert.equal(readFileSync(out, "utf8"), "3 orders, 123.24 USD\n");
    });

    test("without --allow-env the variable is absent", async () => {
      const r = await rexec(["run", "--allow-read=examples/plugin", script, orders], { env: { CURRENCY: "USD" } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "3 orders, 123.24 EUR\n");
    });

    test("without --allow-read: exit 7, naming the flag", async () => {
      const r = await rexec(["run", script, orders]);
      assert.equal(r.code, 7);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /rerun with --allow-read=\S*examples\/plugin\/orders\.json/);
    });

    test("without --allow-write: exit 7 after the report, nothing written", async () => {
      const out = join(dir, "denied.txt");
      const r = await rexec(["run", "--allow-read=examples/plugin", script, orders, out]);
      assert.equal(r.code, 7);
      assert.equal(r.stdout, "3 orders, 123.24 EUR\n");
      assert.match(r.stderr, /rerun with --allow-write=/);
      assert.equal(existsSync(out), false);
    });
  });

  test("hello.js, which the README's first line runs, still runs", async () => {
    const r = await rexec(["run", "examples/hello.js"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello, world\n2 ** 10 = 1024\n");
  });
});
