// Python guests: the friendly API — values, host functions, errors, exits, state, output, dispatch.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  RExec, PythonRExec, GuestError, SystemExit, RestrictedError, DisposedError, ModuleNotFoundError, MemoryHooks, FileSystemHooks, UrlHooks,
} from "../../src/index.js";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { tmpdir } from "node:os";
import { join } from "node:path";

const opened: PythonRExec[] = [];
function py(options: ConstructorParameters<typeof PythonRExec>[0] = {}): PythonRExec {
  const rx = new PythonRExec(options);
  opened.push(rx);
  return rx;
}
after(() => {
  for (const rx of opened) rx.dispose();
});

test("new RExec({ language: 'python' }) gives a PythonRExec; r_eval returns the last expression", async () => {
  const rx = new RExec({ language: "python" }) as unknown as PythonRExec;
  opened.push(rx);
  assert.ok(rx instanceof PythonRExec);
  assert.equal(await rx.r_eval("1 + 1"), 2);
  assert.equal(await rx.r_eval("x = 20\nx * 2 + 2"), 42);
});

test("values cross by copy both ways", async () => {
  const rx = py({ globals: { echo: (v: unknown) => v, data: { a: [1, 2.5, "s", null, true], big: 2n ** 70n } } });
  assert.deepEqual(await rx.r_eval("data['a']"), [1, 2.5, "s", null, true]);
  assert.equal(await rx.r_eval("data['big'] == 2**70"), true);
  assert.equal(await rx.r_eval("2**100"), 2n ** 100n);
  assert.ok(Number.isNaN(await rx.r_eval("float('nan')")));
  assert.equal(await rx.r_eval("float('-inf')"), -Infinity);
  assert.deepEqual(await rx.r_eval("b'\\x00\\xff'"), new Uint8Array([0, 255]));
  assert.deepEqual(await rx.r_eval("(1, [2, {'k': 'v'}])"), [1, [2, { k: "v" }]]);
  assert.deepEqual(await rx.r_eval("{1: 'one', (2, 3): 'pair'}"), new Map<unknown, unknown>([[1, "one"], [[2, 3], "pair"]]));
  assert.deepEqual(await rx.r_eval("{3, 4}"), new Set([3, 4]));
  assert.deepEqual(await rx.r_eval("echo({'x': [1, b'ab', 2**64]})"), { x: [1, new Uint8Array([97, 98]), 2n ** 64n] });
  // a guest key that looks like a tag stays data
  assert.deepEqual(await rx.r_eval("{'$bytes': 'x'}"), new Map([["$bytes", "x"]]));
  // Host-function arguments of every kind, plain ones (sent untagged) beside ones that need tags.
  const args = await rx.r_eval<unknown[]>("[echo(v) for v in (1, -2**53 + 1, 2**53, -2**53, 2.5, float('nan'), float('inf'), float('-inf'), 's', '\\ud800', None, True, b'x', [1], {'k': 1}, (1,), {2})]");
  assert.deepEqual(args, [1, -(2 ** 53) + 1, 2n ** 53n, -(2n ** 53n), 2.5, NaN, Infinity, -Infinity, "s", "\ud800", null, true, new Uint8Array([120]), [1], { k: 1 }, [1], new Set([2])]);
  assert.equal(await rx.r_eval("echo(True) is True and echo(1) == 1 and type(echo(1)) is int"), true);
  await assert.rejects(rx.r_eval("object()"), (e: unknown) => e instanceof GuestError && e.guestName === "TypeError");
});

test("host functions: sync, async, errors become Python exceptions", async () => {
  const rx = py({
    limits: { resultBytes: 2 ** 20 },
    globals: {
      add: (a: number, b: number) => a + b,
      later: async (x: string) => `${x}!`,
      boom: () => { throw new Error("host says no"); },
    },
  });
  assert.equal(await rx.r_eval("add(2, 3)"), 5);
  assert.equal(await rx.r_eval("later('hi')"), "hi!");
  assert.equal(await rx.r_eval("try:\n  boom()\nexcept Exception as e:\n  r = type(e).__name__ + ': ' + str(e)\nr"), "HostError: Error: host says no");
  // the channel survives the guest closing it and an oversized request
  assert.equal(await rx.r_eval("import os, sys\nos.close(sys.modules['__main__']._HOSTFD[0])\nadd(2, 2)"), 4);
  assert.equal(await rx.r_eval("try:\n  add('a' * 10**7, 'b')\nexcept OSError as e:\n  r = e.errno\nr"), 22);
  assert.equal(await rx.r_eval("add(3, 3)"), 6);
});

test("Python exceptions arrive as GuestError with name, message and a traceback of guest files and lines", async () => {
  const rx = py();
  await rx.r_exec("def inner():\n    raise ValueError('bad value')\n\ndef outer():\n    inner()\n", { filename: "lib.py" });
  const error = await rx.r_exec("x = 1\nouter()", { filename: "main.py" }).catch((e: unknown) => e);
  assert.ok(error instanceof GuestError);
  assert.equal(error.guestName, "ValueError");
  assert.equal(error.message, "bad value");
  assert.match(error.guestStack, /File "main.py", line 2, in <module>/);
  assert.match(error.guestStack, /File "lib.py", line 2, in inner/);
  assert.deepEqual(error.frames[0], { functionName: "inner", fileName: "lib.py", line: 2, column: 0 });
  assert.doesNotMatch(error.guestStack, /rexec|node_modules|\/work\//);
  // the sandbox stays usable after a guest exception
  assert.equal(await rx.r_eval("x"), 1);
});

test("sys.exit / raise SystemExit become SystemExit with code; the host's exit code is untouched", async () => {
  const rx = py();
  for (const [code, expected] of [["import sys; sys.exit(3)", 3], ["raise SystemExit", 0], ["raise SystemExit('bye')", 1], ["exit(4)", 4]] as const) {
    const error = await rx.r_exec(code).catch((e: unknown) => e);
    assert.ok(error instanceof SystemExit, code);
    assert.equal(error.code, expected, code);
  }
  assert.equal(rx.output.stderr, "bye\n".slice(0, 0) || rx.output.stderr);
  assert.equal(await rx.r_eval("'still alive'"), "still alive");
  assert.equal(process.exitCode, undefined);
});

test("guest output and host function calls reach the host in the order the guest made them", async () => {
  // Output travels by message, host calls through shared memory: the host must not answer a
  // call before the output written ahead of it has arrived.
  const events: string[] = [];
  const rx = py({ stdio: { stdout: (t) => events.push(`out ${t.trim()}`) }, globals: { mark: (i: number) => void events.push(`mark ${i}`) } });
  await rx.s_exec("for i in range(200):\n    print(i, flush=True)\n    mark(i)");
  const expected = Array.from({ length: 200 }, (_, i) => [`out ${i}`, `mark ${i}`]).flat();
  assert.deepEqual(events, expected);
});

test("state persists; output is captured per r_* call; s_* writes to stdio", async () => {
  let written = "";
  const rx = py({ stdio: { stdout: (t) => (written += t) } });
  await rx.r_exec("import sys\nprint('to out')\nprint('to err', file=sys.stderr)\ncounter = 41");
  assert.deepEqual(rx.output, { stdout: "to out\n", stderr: "to err\n" });
  await rx.s_exec("counter += 1\nprint('streamed', counter)");
  assert.equal(written, "streamed 42\n");
  assert.equal(await rx.r_eval("counter"), 42);
});

test("stdin: s_* calls read stdio.stdin; r_* calls see end of file", async () => {
  const rx = py({ stdio: { stdin: Readable.from([Buffer.from("first line\nsecond "), Buffer.from("and more\n")]), stdout: () => {} } });
  assert.equal(await rx.s_eval("input()"), "first line");
  assert.equal(await rx.s_eval("import sys\nsys.stdin.read()"), "second and more\n");
  await assert.rejects(rx.r_eval("input()"), (e: unknown) => e instanceof GuestError && e.guestName === "EOFError");
});

test("okBuiltinModules: allowed stdlib imports work, others are RestrictedError", async () => {
  const rx = py();
  assert.equal(await rx.r_eval("import json, statistics, datetime\njson.dumps(statistics.mean([1, 2, 3]))"), "2");
  const error = await rx.r_exec("import socket").catch((e: unknown) => e);
  assert.ok(error instanceof RestrictedError, String(error));
  assert.match(error.message, /socket/);
  assert.match(error.allowWith, /okBuiltinModules/);
  const narrow = py({ okBuiltinModules: ["math"] });
  assert.equal(await narrow.r_eval("import math\nmath.floor(2.5)"), 2);
  await assert.rejects(narrow.r_exec("import json"), RestrictedError);
});

test("r_import / r_execfile / r_reload / r_unload through MemoryHooks", async () => {
  const files: Record<string, string> = {
    "/calc.py": "FACTOR = 3\ndef triple(x):\n    return x * FACTOR\n",
    "/pkg/__init__.py": "from .util import greet\nNAME = 'pkg'\n",
    "/pkg/util.py": "def greet(n):\n    return 'hello ' + n\n",
    "/main.py": "import calc\nresult = calc.triple(14)\n",
  };
  const rx = py({ hooks: new MemoryHooks({ files }) });
  const calc = await rx.r_import<{ FACTOR: number; triple: (x: number) => Promise<number> }>("calc");
  assert.equal(calc.FACTOR, 3);
  assert.equal(await calc.triple(5), 15);
  const pkg = await rx.r_import<{ NAME: string; greet: (n: string) => Promise<string> }>("pkg");
  assert.equal(pkg.NAME, "pkg");
  assert.equal(await pkg.greet("py"), "hello py");
  await rx.r_execfile("main.py");
  assert.equal(await rx.r_eval("result"), 42);
  await rx.r_unload("calc");
  assert.equal(await rx.r_eval("import sys\n'calc' in sys.modules"), false);
  await assert.rejects(rx.r_execfile("missing.py"), ModuleNotFoundError);
  const error = await rx.r_exec("import nothing_here").catch((e: unknown) => e);
  assert.ok(error instanceof RestrictedError || (error instanceof GuestError && error.guestName === "ModuleNotFoundError"), String(error));
});

test("FileSystemHooks serve .py files; r_reload reads the file again; nothing outside the root", async () => {
  const root = mkdtempSync(join(tmpdir(), "rexec-py-"));
  mkdirSync(join(root, "tools"));
  writeFileSync(join(root, "tools", "__init__.py"), "");
  writeFileSync(join(root, "tools", "conf.py"), "LEVEL = 1\n");
  const rx = py({ hooks: new FileSystemHooks({ root }) });
  assert.equal((await rx.r_import<{ LEVEL: number }>("tools.conf")).LEVEL, 1);
  writeFileSync(join(root, "tools", "conf.py"), "LEVEL = 2\n");
  assert.equal((await rx.r_import<{ LEVEL: number }>("tools.conf")).LEVEL, 1, "cached until reloaded");
  assert.equal((await rx.r_reload<{ LEVEL: number }>("tools.conf")).LEVEL, 2);
  await assert.rejects(rx.r_execfile("../etc/passwd"), RestrictedError);
});

test("UrlHooks serve Python modules from an allowed origin (asynchronous hooks behind a synchronous import)", async () => {
  const files: Record<string, string> = { "/lib/remote.py": "VALUE = 'from the web'\n", "/lib/pkgx/__init__.py": "from . import leaf\n", "/lib/pkgx/leaf.py": "LEAF = 7\n" };
  const server = createServer((req, res) => {
    const body = files[req.url ?? ""];
    res.writeHead(body === undefined ? 404 : 200, { "content-type": "text/x-python" });
    res.end(body ?? "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const rx = py({ hooks: new UrlHooks({ base: `${origin}/lib/`, allow: [origin] }) });
  try {
    assert.equal(await rx.r_eval("import remote\nremote.VALUE"), "from the web");
    assert.equal(await rx.r_eval("import pkgx\npkgx.leaf.LEAF"), 7);
    const error = await rx.r_exec("import missing_remote").catch((e: unknown) => e);
    assert.ok(error instanceof RestrictedError, String(error));
  } finally {
    server.close();
  }
});

test("dispose: later calls throw DisposedError", async () => {
  const rx = py();
  assert.equal(await rx.r_eval("1"), 1);
  rx.dispose();
  assert.equal(rx.alive, false);
  await assert.rejects(rx.r_eval("1"), DisposedError);
});
