// Python guests (PythonRExec on Pyodide): start-up, calls, host-function round trip, memory.
// Run alone: node bench/python.mjs (needs `npm run build` and the optional pyodide package).
// Prints one "RESULT {json}" line (bench/run.mjs collects it).
//
// "new + r_eval" is measured in a warm process: the process has made (or read from its disk cache)
// the memory snapshot, and each new sandbox takes the pre-started spare interpreter that the previous
// one left behind; the bench waits until that spare is ready before the next sandbox, as a host that
// is not creating sandboxes back to back would. The first sandbox of the process is reported apart.
import { performance } from "node:perf_hooks";

const { PythonRExec } = await import("../dist/index.js");
const { sparesReady } = await import("../dist/python/interpreter.js");

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))];
  return { median: at(0.5), p90: at(0.9), min: s[0], n: s.length };
}

const out = {};
let t = performance.now();
const first = new PythonRExec();
await first.r_eval("1+1");
out.firstSandboxMs = performance.now() - t;
first.dispose();

const starts = [];
for (let i = 0; i < 15; i++) {
  await sparesReady();
  t = performance.now();
  const rx = new PythonRExec();
  await rx.r_eval("1+1");
  starts.push(performance.now() - t);
  rx.dispose();
}
out.newSandboxEvalMs = stats(starts);

await sparesReady();
// spare: false — a spare booting in the background would share the CPU with the measurement.
const rx = new PythonRExec({ globals: { add: (a, b) => a + b }, spare: false });
await rx.r_eval("1");
const evals = [];
for (let i = 0; i < 200; i++) {
  t = performance.now();
  await rx.r_eval("2 * 21");
  evals.push((performance.now() - t) * 1000);
}
out.warmEvalUs = stats(evals);
const CALLS = 2000;
const rounds = [];
// Steady state, as the JavaScript rows: one unmeasured loop first lets V8 optimise the
// interpreter's hot wasm (the first loop of a fresh interpreter runs 2–3× slower).
await rx.r_exec(`s = 0\nfor i in range(${CALLS}): s = add(s, 1)`);
for (let i = 0; i < 7; i++) {
  t = performance.now();
  await rx.r_exec(`s = 0\nfor i in range(${CALLS}): s = add(s, 1)`);
  rounds.push(((performance.now() - t) * 1000) / CALLS);
}
out.hostCallUs = stats(rounds);
rx.dispose();

// RSS per live interpreter: 6 sandboxes alive at once (no spares), after a settle.
const LIVE = 6;
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 500));
const rss0 = process.memoryUsage().rss;
const live = [];
for (let i = 0; i < LIVE; i++) {
  const s = new PythonRExec({ spare: false });
  await s.r_eval("1");
  live.push(s);
}
await new Promise((r) => setTimeout(r, 500));
out.rssPerInterpreterMB = (process.memoryUsage().rss - rss0) / LIVE / 2 ** 20;
for (const s of live) s.dispose();

process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
process.exit(0);
