// CPU-bound jobs on an RExecPool of N threads, in a fresh process (so thread
// start, wasm compilation and V8 tier-up are all counted, as a real host pays
// them). Usage: node pool-cpu.mjs <size> [jobs] [idleMs] [lib]
// With idleMs > 0 the pool is left idle that long before the jobs are sent (its
// threads start, and prepare a realm, while idle — as in a long-lived host).
// Prints "RESULT <json>": seconds for all jobs (from pool creation, or from the
// end of the idle time), and the guest CPU of the first and the median job.
import os from "node:os";
import { performance } from "node:perf_hooks";

const size = Number(process.argv[2] ?? 1);
const jobs = Number(process.argv[3] ?? 16);
const idleMs = Number(process.argv[4] ?? 0);
const lib = await import(process.argv[5] ?? "../dist/index.js");

/**
 * ~200 ms of guest CPU in optimised code: one long loop in one guest function,
 * the shape a thread still in baseline code runs slowest (the interpreter's
 * main loop cannot switch to optimised code during the call).
 */
export const CPU_JOB = `(() => { let s = 0, t = "";
  for (let i = 0; i < 1000000; i++) { s = (s + i * i) % 1000003; if ((i & 1023) === 0) t = t.slice(-8) + (s & 7); }
  return s + t.length; })()`;

const out = { size, jobs, idleMs };
try {
  let t0 = performance.now();
  let cpu0 = process.cpuUsage();
  const pool = new lib.RExecPool({ size, limits: { timeoutMs: 20000, memoryBytes: 128 * 1024 * 1024 } });
  if (idleMs > 0) {
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    t0 = performance.now();
    cpu0 = process.cpuUsage();
  }
  const results = await Promise.all(Array.from({ length: jobs }, () => pool.run(CPU_JOB)));
  out.seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  // CPU of the whole process (all threads) over the same span: if it stays the
  // same for 1 and 2 threads, the work itself parallelises and only free cores bound the speed-up.
  out.processCpuSeconds = (used.user + used.system) / 1e6;
  out.loadAvg1 = os.loadavg()[0];
  const cpuMs = results.map((r) => r.stats.cpuMs);
  out.firstJobsCpuMs = cpuMs.slice(0, size).map((x) => Math.round(x));
  out.medianJobCpuMs = Math.round([...cpuMs].sort((a, b) => a - b)[Math.floor(cpuMs.length / 2)]);
  if (new Set(results.map((r) => r.value)).size !== 1) throw new Error("jobs disagreed");
  await pool.close();
} catch (error) {
  out.failed = String(error?.stack ?? error).split("\n").slice(0, 3).join(" | ");
}
process.stdout.write("RESULT " + JSON.stringify(out) + "\n");
process.exit(0);
