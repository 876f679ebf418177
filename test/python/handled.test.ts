// Python guests: no promise PythonRExec returns can become an unhandled rejection (SECURITY.md §9): a host that
// fires a call and forgets it must not die of a failure the guest chose. Each r_*/s_* method is called without
// awaiting, on a call that rejects; the process's unhandledRejection hook must see nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PythonRExec } from "../../src/python/python-rexec.js";
import { MemoryHooks } from "../../src/loader/hooks/memory-hooks.js";

test("fire-and-forget calls that reject are never unhandled rejections", async () => {
  const unhandled: unknown[] = [];
  const hook = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", hook);
  const rx = new PythonRExec({ spare: false, hooks: new MemoryHooks({ files: { "/m.py": "def boom():\n    raise ValueError('guest')\n" } }), stdio: { stdout: () => {}, stderr: () => {} } });
  try {
    const mod = await rx.r_import<{ boom: () => Promise<unknown> }>("m");
    const calls: Array<() => Promise<unknown>> = [
      () => rx.r_exec("raise ValueError('r_exec')"),
      () => rx.s_exec("raise ValueError('s_exec')"),
      () => rx.r_eval("1/0"),
      () => rx.s_eval("1/0"),
      () => rx.r_execfile("missing.py"),
      () => rx.s_execfile("missing.py"),
      () => rx.r_import("missing_module"),
      () => rx.s_import("missing_module"),
      () => rx.r_reload("missing_module"),
      () => rx.s_reload("missing_module"),
      () => rx.exec("raise ValueError('exec')"),
      () => rx.execFile("missing.py"),
      () => mod.boom(),
    ];
    for (const call of calls) void call();
    await rx.r_eval("0").catch(() => {});
    rx.dispose();
    // Calls on a disposed sandbox reject too.
    for (const call of [() => rx.r_exec("0"), () => rx.r_unload("m"), () => rx.s_unload("m"), () => rx.unload("m")]) void call();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(unhandled.map((e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))), []);
  } finally {
    rx.dispose();
    process.off("unhandledRejection", hook);
  }
});
