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
  assert.equal(r.code, 7, "a piped session exits with the code of its last failure");
});

test("repl survives a timeout and stops at exit()", async () => {
  const r = await rexec(["--timeout", "100ms", "repl"], { input: "globalThis.k = 5\nwhile (true) {}\nk * 2\nexit(3)\nk\n" });
  assert.match(r.stderr, /TimeoutError/);
  assert.equal(r.stdout, "5\n10\n");
  assert.equal(r.code, 3);
});
