// Compute inside rexec ÷ the same engine without rexec, in ONE process, alternating
// runs (the cross-process comparison with raw quickjs-emscripten varies ±30 % on a
// loaded machine). "engine" = rexec's own raw-ffi engine (dist/engine/engine-factory.js)
// with no limits' handler work, no kernel, no guards. Prints "RESULT <json>".
import { RExec } from "../dist/index.js";
import { createQuickJSEngine } from "../dist/engine/engine-factory.js";
import { SETUP, FIB, SORT, JSON_RT } from "./lib.mjs";

const out = {};
try {
  const rx = new RExec({ limits: { timeoutMs: 120000, memoryBytes: 256 << 20 } });
  await rx.r_exec(SETUP);
  const engine = await createQuickJSEngine({ memoryBytes: 256 << 20, stackBytes: 256 << 10, shouldInterrupt: () => false });
  engine.free(engine.evalScript(SETUP, "<setup>"));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  for (const [name, code] of [["fib", FIB], ["sort", SORT], ["json", JSON_RT]]) {
    const a = [], b = [];
    for (let round = 0; round < 7; round++) {
      let t = performance.now();
      await rx.r_eval(code);
      a.push(performance.now() - t);
      t = performance.now();
      engine.free(engine.evalScript(code, "<compute>"));
      b.push(performance.now() - t);
    }
    out[name] = { rexecMs: median(a.slice(1)), engineMs: median(b.slice(1)), ratio: median(a.slice(1)) / median(b.slice(1)) };
  }
  rx.dispose();
  engine.dispose();
} catch (error) {
  out.failed = String(error?.stack ?? error).split("\n").slice(0, 3).join(" | ");
}
process.stdout.write("RESULT " + JSON.stringify(out) + "\n");
process.exit(0);
