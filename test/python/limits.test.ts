// Python guests, hostile: memory, CPU, recursion, output, result, file-system and request bombs.
// How each was seen failing: without the patched memory maximum a growing list reached 3.1 GiB of host
// RSS (probes/python/t2_memcap.mjs 0); in the host thread a guest that swallows KeyboardInterrupt or
// sleeps never returns (t3_cpu_samethread.mjs, t3_sleep.mjs); MEMFS data bypasses the wasm cap (a 2 GiB
// file under a 128 MiB cap, t2_memfs_bypass.mjs); C-level recursion killed an in-thread interpreter
// (t3_recursion.mjs). Here each must end in its typed error with the host unharmed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GuestError, MemoryLimitError, OutputLimitError, StackLimitError, TimeoutError, DisposedError } from "../../src/host/errors.js";
import { PythonRExec } from "../../src/python/python-rexec.js";
import { limited, runFresh } from "./helpers.js";

const MiB = 2 ** 20;

test("limits: each bomb ends in its typed error; the host stays responsive and small", async () => {
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 20);
  const rss0 = process.memoryUsage().rss;
  const small = { limits: { memoryBytes: 96 * MiB, timeoutMs: 5000 } };
  const cpu = { limits: { memoryBytes: 96 * MiB, timeoutMs: 800 } };
  const cases: [string, () => ReturnType<typeof runFresh>, (r: Awaited<ReturnType<typeof runFresh>>) => void][] = [
    ["huge string", () => runFresh("x = 'a' * 10**9", small), (r) => assert.ok(r.error instanceof MemoryLimitError && r.error.limit === "memoryBytes", String(r.error))],
    ["growing list", () => runFresh("l = []\nwhile True:\n    l.append(' ' * 10**5)", small), (r) => assert.ok(r.error instanceof MemoryLimitError, String(r.error))],
    ["busy loop", () => runFresh("while True: pass", cpu), (r) => {
      assert.ok(r.error instanceof TimeoutError && r.error.limit === "timeoutMs", String(r.error));
      assert.equal(r.alive, false);
    }],
    ["loop that swallows KeyboardInterrupt", () => runFresh("while True:\n    try:\n        while True: pass\n    except BaseException:\n        pass", cpu), (r) => {
      assert.ok(r.error instanceof TimeoutError, String(r.error));
      assert.ok(r.ms < 800 + 250 + 3000, `hard stop took ${r.ms} ms`);
    }],
    ["time.sleep", () => runFresh("import time\ntime.sleep(1000)", cpu), (r) => assert.ok(r.error instanceof TimeoutError, String(r.error))],
    ["C-level recursion (repr of a deeply nested list: quadratic too)", () => runFresh("l = []\nfor i in range(10**6): l = [l]\nrepr(l)", cpu), (r) => {
      assert.ok((r.error instanceof GuestError && r.error.guestName === "RecursionError") || r.error instanceof StackLimitError || r.error instanceof TimeoutError, String(r.error));
    }],
    ["raised recursion limit", () => runFresh("import sys\nsys.setrecursionlimit(10**6)\ndef f(n): return f(n + 1)\nf(0)", cpu), (r) => {
      assert.ok(r.error instanceof GuestError || r.error instanceof StackLimitError || r.error instanceof MemoryLimitError || r.error instanceof TimeoutError, String(r.error));
    }],
    ["host function that never settles", () => runFresh("hang()", { globals: { hang: () => new Promise(() => {}) }, limits: { wallTimeMs: 600 } }), (r) => {
      assert.ok(r.error instanceof TimeoutError && r.error.limit === "wallTimeMs", String(r.error));
      assert.equal(r.alive, false);
    }],
    ["output flood", () => runFresh("while True: print('y' * 10**5)", { limits: { outputBytes: 64 * 1024, timeoutMs: 5000 } }), (r) => {
      assert.ok(r.error instanceof OutputLimitError, String(r.error));
      assert.ok(r.output.stdout.length <= 64 * 1024);
    }],
  ];
  const results = await limited(cases.map(([, run]) => run), 4);
  clearInterval(ticker);
  const failures: string[] = [];
  cases.forEach(([name, , check], i) => {
    try {
      check(results[i]!);
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  });
  assert.deepEqual(failures, []);
  assert.ok(ticks > 10, "the host's event loop kept running while guests looped");
  assert.ok(process.memoryUsage().rss - rss0 < 1500 * MiB, `host RSS grew by ${(process.memoryUsage().rss - rss0) / MiB} MiB`);
});

test("errors that leave the interpreter usable: recursion, result and file-system quotas, huge requests", async () => {
  const rx = new PythonRExec({ limits: { resultBytes: MiB, timeoutMs: 5000 }, fileSystem: { bytes: 4 * MiB, files: 100 }, globals: { echo: (x: unknown) => x } });
  try {
    const cases: [string, string, (e: unknown) => boolean][] = [
      ["Python recursion", "def f(n): return f(n + 1)\nf(0)", (e) => e instanceof GuestError && e.guestName === "RecursionError"],
      ["result flood", "'z' * (8 * 2**20)", (e) => e instanceof MemoryLimitError && e.limit === "resultBytes"],
      ["result nested too deeply", "l = []\nfor i in range(10**4): l = [l]\nl", (e) => e instanceof GuestError && e.guestName === "ValueError"],
      ["in-memory file flood", "c = b'x' * 2**20\nwith open('/tmp/big', 'wb') as f:\n    for i in range(64): f.write(c)", (e) => e instanceof GuestError && e.guestName === "OSError"],
      ["file truncate to 4 GiB", "import os\nopen('/tmp/t', 'w').close()\nos.truncate('/tmp/t', 2**32 - 1)", (e) => e instanceof GuestError && e.guestName === "OSError"],
      ["file count flood", "for i in range(10**5): open(f'/tmp/f{i}', 'w').close()", (e) => e instanceof GuestError && e.guestName === "OSError"],
      // Link targets and names live in the worker's JS heap, outside the byte quota: unbounded, 20 targets of 40 MiB
      // ran the worker out of heap, which aborted the whole host process (V8 fatal OOM, exit 134).
      ["symlink target longer than PATH_MAX", "import os\nos.symlink('a' * 10**6, '/tmp/l')", (e) => e instanceof GuestError && e.guestName === "OSError"],
      ["file name longer than NAME_MAX by rename", "import os\nopen('/tmp/a', 'w').close()\nos.rename('/tmp/a', '/tmp/' + 'x' * 10**6)", (e) => e instanceof GuestError && e.guestName === "OSError"],
      ["huge host request", "import sys\nsys.modules['__main__']._hostcall('call', 'echo', 'a' * 10**7)", (e) => e instanceof GuestError && e.guestName === "OSError"],
    ];
    const failures: string[] = [];
    for (const [name, code, ok] of cases) {
      const error = await rx.r_eval(code).then(() => undefined, (e: unknown) => e);
      if (!ok(error)) failures.push(`${name}: ${String(error)}`);
      await rx.r_exec("import os\nfor n in os.listdir('/tmp'): os.unlink('/tmp/' + n)");
    }
    assert.deepEqual(failures, []);
    assert.equal(await rx.r_eval("'usable'"), "usable");
  } finally {
    rx.dispose();
  }
});

test("a forged runner answer is bounded: malformed or too deep ends the interpreter, not the host", async () => {
  const rx = new PythonRExec();
  try {
    await rx.r_exec("import sys\nm = sys.modules['__main__']\ndef fake():\n    open('/dev/rexec_out', 'wb').write(b'{\"ok\": true, \"value\": ' + b'[' * 100000 + b']' * 100000 + b'}')\nm.__rexec_main = fake");
    const error = await rx.r_eval("1").catch((e: unknown) => e);
    assert.ok(error instanceof GuestError && error.guestName === "InterpreterError", String(error));
    await assert.rejects(rx.r_eval("1"), DisposedError);
  } finally {
    rx.dispose();
  }
});
