// The first heavy guest call in a fresh process against later ones, and the
// one-time cost the process pays before its first sandbox. Runs in its own
// process. Usage: node first-call.mjs [warm|nowarm]   Prints "RESULT <json>".
// "nowarm" marks the process as already warmed up (the shared flag of
// warm-up.ts), so the engine starts cold: the comparison without the warm-up.
// (V8 runs new wasm in baseline code and cannot move a running call to
// optimised code; rexec warms the engine up once per process — warm-up.ts.)
import { performance } from "node:perf_hooks";

const out = {};
try {
  const tImport = performance.now();
  const lib = await import("../dist/index.js");
  out.importMs = performance.now() - tImport;
  const warmUp = await import(new URL("../dist/engine/warm-up.js", import.meta.url));
  out.mode = process.argv[2] === "nowarm" ? "nowarm" : "warm";
  if (out.mode === "nowarm") Atomics.store(new Int32Array(warmUp.warmUpFlag("quickjs-ng")), 0, 1);
  // One long loop in one guest function: the interpreter's main loop never
  // returns during the call, so it runs in whatever code it started in.
  const HEAVY = `(() => { let s = 0, t = "";
    for (let i = 0; i < 1000000; i++) { s = (s + i * i) % 1000003; if ((i & 1023) === 0) t = t.slice(-8) + (s & 7); }
    return s + t.length; })()`;
  const limits = { timeoutMs: 60000, memoryBytes: 128 * 1024 * 1024 };
  const tFirst = performance.now();
  const first = new lib.RExec({ limits });
  await first.r_eval("1+1");
  // Everything before the first sandbox answers: wasm compile, warm-up, realm.
  out.firstSandboxMs = performance.now() - tFirst;
  out.warmUpMs = warmUp.warmUpCostMs();
  const times = [];
  let rx = first;
  for (let k = 0; k < 6; k++) {
    if (k > 0) {
      rx = new lib.RExec({ limits });
      await rx.r_eval("1");
    }
    const t = performance.now();
    await rx.r_eval(HEAVY);
    times.push(performance.now() - t);
    rx.dispose();
  }
  const later = times.slice(1).sort((a, b) => a - b)[2];
  out.firstMs = times[0];
  out.laterMedianMs = later;
  out.ratio = times[0] / later;
} catch (error) {
  out.failed = String(error?.stack ?? error).split("\n").slice(0, 3).join(" | ");
}
process.stdout.write("RESULT " + JSON.stringify(out) + "\n");
process.exit(0);
