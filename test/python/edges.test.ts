// Python guests, friendly edges of the API: what a new user meets on unusual but legal input.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { GuestError, SystemExit } from "../../src/host/errors.js";
import { MemoryHooks } from "../../src/loader/hooks/memory-hooks.js";
import { PythonRExec } from "../../src/python/python-rexec.js";

const rx = new PythonRExec({ spare: false, hooks: new MemoryHooks({ files: { "/bad.py": "x = 1\ny = (2,\n", "/uses_bad.py": "import bad\n" } }) });
after(() => rx.dispose());

test("SystemExit with an exit code no process could have is still SystemExit (code 1), and the sandbox stays usable", async () => {
  // Seen failing: GuestError "Exception" with an empty message (the code was not a safe integer).
  for (const code of ["raise SystemExit(10**100)", "import sys\nsys.exit(-2**70)"]) {
    const error = await rx.r_exec(code).catch((e: unknown) => e);
    assert.ok(error instanceof SystemExit, `${code}: ${String(error)}`);
    assert.equal(error.code, 1);
  }
  assert.equal(await rx.r_eval("'alive'"), "alive");
});

test("a SyntaxError's traceback names the guest file and line, not the runner's parser", async () => {
  // Seen failing: the only frame was /lib/python314.zip/ast.py (the runner's ast.parse).
  for (const [run, file, line] of [[() => rx.r_execfile("bad.py"), "/bad.py", 2], [() => rx.r_exec("import uses_bad"), "/bad.py", 2], [() => rx.r_exec("a = 1\n\nb = )", { filename: "cell.py" }), "cell.py", 3]] as const) {
    const error = await (run as () => Promise<unknown>)().catch((e: unknown) => e);
    assert.ok(error instanceof GuestError && error.guestName === "SyntaxError", String(error));
    assert.deepEqual(error.frames.map((f) => [f.fileName, f.line]).filter(([f]) => !String(f).startsWith("<")).at(0), [file, line], error.guestStack);
    assert.doesNotMatch(error.guestStack, /ast\.py/);
  }
});

test("empty writes to stdout send the host nothing (they are not counted by outputBytes, so they must cost it nothing)", async () => {
  // Each os.write(1, b'') posted a message to the host thread: ~90,000 a second for as long as timeoutMs allows,
  // none of them charged to outputBytes. Seen failing: 1,000 empty calls of the stdout target.
  const chunks: string[] = [];
  const out = new PythonRExec({ spare: false, stdio: { stdout: (text) => void chunks.push(text) } });
  try {
    await out.s_exec("import os, sys\nfor i in range(1000):\n    os.write(1, b'')\n    sys.stdout.buffer.write(b''); sys.stdout.flush()\nprint('done')");
    assert.deepEqual(chunks.filter((c) => c === "").length, 0);
    assert.equal(chunks.join(""), "done\n");
  } finally {
    out.dispose();
  }
});

test("an exception with a huge class name or file name is still that exception (cut to size), not a resultBytes error", async () => {
  // Seen failing: MemoryLimitError (resultBytes) — the runner's answer carried the 10 MB names whole.
  for (const code of ["raise type('E' * 10**7, (Exception,), {})('boom')", "exec(compile('1/0', 'f' * 10**7, 'exec'))"]) {
    const error = await rx.r_exec(code).catch((e: unknown) => e);
    assert.ok(error instanceof GuestError, `${code.slice(0, 30)}: ${String(error).slice(0, 200)}`);
    assert.ok(error.guestName.length <= 200 && error.guestStack.length < 10_000);
  }
  assert.equal(await rx.r_eval("'alive'"), "alive");
});

test("stdio targets: a bad one is a TypeError at construction; one that throws rejects the call, never the host process", async () => {
  // Output reaches the host by message; the target was called from the worker's message handler, so a target
  // that threw (or stdio.stdout: 5) was an uncaught exception that ended the host process. Seen failing: both.
  assert.throws(() => new PythonRExec({ spare: false, stdio: { stdout: 5 as never } }), TypeError);
  assert.throws(() => new PythonRExec({ spare: false, stdio: { stderr: {} as never } }), TypeError);
  assert.throws(() => new PythonRExec({ spare: false, stdio: { stdin: "text" as never } }), TypeError);
  let written = "";
  const failing = new PythonRExec({
    spare: false,
    stdio: { stdout: (text) => { if (text.includes("boom")) throw new RangeError("the sink is full"); written += text; } },
  });
  try {
    const error = await failing.s_exec("print('one')\nprint('boom')\nprint('two')").catch((e: unknown) => e);
    assert.ok(error instanceof RangeError && error.message === "the sink is full", String(error));
    assert.equal(written, "one\n");
    await failing.s_exec("print('again')");
    assert.equal(written, "one\nagain\n");
  } finally {
    failing.dispose();
  }
});

test("a call's output ends with the call: a partial UTF-8 sequence at its end does not leak into the next call's output", async () => {
  // The output decoders are per sandbox, in streaming mode, and were never flushed: the next call's stdout began
  // with the previous call's dangling bytes. Seen failing: the first call's output was '' (its bytes held back).
  await rx.r_exec("import sys\nsys.stdout.buffer.write(b'\\xe2\\x82'); sys.stdout.flush()");
  assert.equal(rx.output.stdout, "\uFFFD");
  await rx.r_exec("print('ok')");
  assert.equal(rx.output.stdout, "ok\n");
});
