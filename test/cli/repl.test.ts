// `rexec repl` with piped stdin: one persistent sandbox, values printed like Node's REPL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rexec } from "./helpers.js";

test("repl evaluates piped lines in one sandbox and prints results and errors", async () => {
  const input = [
    "let x = 20",
    "x + 1",
    "function double(n) {",
    "  return n * 2",
    "}",
    "double(x)",
    "{ a: 1, b: [1, 2] }",
    "'text'",
    "null.y",
    "console.log('from guest')",
    "import('child_process')",
    "x",
    "",
  ].join("\n");
  const r = await rexec(["repl"], { input });
  assert.equal(r.stdout, ["undefined", "21", "undefined", "40", "{ a: 1, b: [ 1, 2 ] }", "'text'", "from guest", "undefined", "20", ""].join("\n"));
  assert.match(r.stderr, /Uncaught TypeError: cannot read property 'y' of null/);
  assert.match(r.stderr, /Uncaught RestrictedError: access denied: builtin module "child_process"[\s\S]*no flag allows it/);
  assert.equal(r.code, 0, "like node -i: errors are reported, the session goes on, exit 0");
});

test("piped: top-level await, then lines after it still run; .exit ends even a multi-line entry", async () => {
  const r = await rexec(["repl"], { input: "await Promise.resolve(7)\nconst v = await new Promise((r) => setTimeout(() => r(5), 5))\nv * 2\nfunction f() {\n.exit\n99\n" });
  assert.equal(r.stdout, "7\nundefined\n10\n", r.stderr);
  assert.equal(r.code, 0);
});

test("repl survives a timeout and stops at exit()", async () => {
  const r = await rexec(["--timeout", "100ms", "repl"], { input: "globalThis.k = 5\nwhile (true) {}\nk * 2\nexit(3)\nk\n" });
  assert.match(r.stderr, /TimeoutError/);
  assert.equal(r.stdout, "5\n10\n");
  assert.equal(r.code, 3);
});
