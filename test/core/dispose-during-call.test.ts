// dispose() called from inside a running call — by a host function, an output
// sink, a logger, a hook, a getter read while copying, a guest timer — must
// end that call with DisposedError, never free the engine under the call's
// feet. Before, such calls got untyped `QuickJSUseAfterFree` errors, the
// engine library printed host paths to stderr, and a hook that disposed
// aborted the engine (`Assertion failed: !rt->in_free`).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const SCENARIOS: Record<string, string> = {
  syncHost: `rx = new RExec({ globals: { kill: () => { rx.dispose(); return 1 } } }); return rx.r_eval("kill(); [1, 2].map((x) => x * 2)")`,
  syncHostThrows: `rx = new RExec({ globals: { kill: () => { rx.dispose(); throw new Error("x") } } }); return rx.r_eval("try { kill() } catch {} 5")`,
  hostCallsCallback: `rx = new RExec({ globals: { run: (cb) => { rx.dispose(); cb(1); return 7 } } }); return rx.r_eval("run((x) => x + 1)")`,
  asyncHost: `rx = new RExec({ globals: { later: async () => { await new Promise((r) => setTimeout(r, 5)); rx.dispose(); return 3 } } }); return rx.r_eval("(async () => await later())()")`,
  stdoutSink: `rx = new RExec({ stdio: { stdout: () => rx.dispose() } }); return rx.s_eval("console.log('hi'); console.log('again'); 1")`,
  verboseLogger: `rx = new RExec({ verbose: () => rx.dispose(), globals: { f: () => 1 } }); return rx.r_eval("f(); f(); 2")`,
  hooksResolve: `const h = new MemoryHooks({ files: { "/a.js": "export const x = 1" } }); const resolve = h.resolve.bind(h); h.resolve = (...a) => { rx.dispose(); return resolve(...a) }; rx = new RExec({ hooks: h }); return rx.r_eval("import('/a.js').then((m) => m.x)")`,
  getterDuringCopy: `rx = new RExec({ globals: { kill: () => rx.dispose() } }); return rx.r_eval("({ get a() { kill(); return 1 }, b: 2 })")`,
  thrownGetter: `rx = new RExec({ globals: { kill: () => rx.dispose() } }); return rx.r_eval("throw { get message() { kill(); return 'm' } }")`,
  guestTimer: `rx = new RExec({ globals: { kill: () => rx.dispose() } }); await rx.r_exec("setTimeout(() => kill(), 5)"); await new Promise((r) => setTimeout(r, 30)); return rx.r_eval("(async () => { await new Promise((r) => setTimeout(r, 20)); return 1 })()")`,
};

test("dispose() from inside a call ends it with DisposedError; nothing is printed, the host lives", () => {
  const script = `
    import { MemoryHooks, RExec } from "./src/index.ts";
    const results = {};
    const scenarios = ${JSON.stringify(SCENARIOS)};
    for (const [name, body] of Object.entries(scenarios)) {
      const fn = new Function("RExec", "MemoryHooks", "return (async () => { let rx; " + body + " })()");
      try { results[name] = "value " + JSON.stringify(await fn(RExec, MemoryHooks)); }
      catch (e) { results[name] = e.constructor.name; }
    }
    await new Promise((r) => setTimeout(r, 100));
    console.log(JSON.stringify(results));
  `;
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stderr.trim(), "", `the host printed: ${child.stderr.slice(0, 1000)}`);
  const results = JSON.parse(child.stdout.trim().split("\n").pop()!) as Record<string, string>;
  for (const name of Object.keys(SCENARIOS)) assert.equal(results[name], "DisposedError", `${name}: ${results[name]}`);
});
