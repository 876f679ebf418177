// CPU-bound jobs on an RExecPool of N threads, in a fresh process (so thread
// start, wasm compilation and V8 tier-up are all counted, as a real host pays
// them). Usage: node pool-cpu.mjs <size> [jobs] [idleMs] [lib]
// With idleMs > 0 the pool is left idle that long before the jobs are sent (its
// threads start, and prepare a realm, while idle — as in a long-lived host).
// Prints "RESULT <json>": seconds for all jobs (from pool creation, or from the
// end of the idle time), and the guest CPU of the first and the median job.
import { performance } from "node:perf_hooks";

const size = Number(process.argv[2] ?? 1);
const jobs = Number(process.argv[3] ?? 16);
const idleMs = Number(process.argv[4] ?? 0);
const lib = await import(process.argv[5] ?? "../dist/index.js");

/** ~200 ms of guest CPU in optimised code: objects, sort, strings. */
export const CPU_JOB = `(() => { let s = 0; const a = [];
  for (let i = 0; i < 60000; i++) a.push({ i, v: (i * 7919) % 10007 });
  a.sort((x, y) => x.v - y.v); for (const o of a) s += o.v & 3;
  let str = ""; for (let i = 0; i < 30000; i++) str += i % 10;
  return s + str.length; })()`;

const out = { size, jobs, idleMs };
try {
  let t0 = performance.now();
  const pool = new lib.RExecPool({ size, limits: { timeoutMs: 20000, memoryBytes: 128 * 1024 * 1024 } });
  if (idleMs > 0) {
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    t0 = performance.now();
  }
  const results = await Promise.all(Array.from({ length: jobs }, () => pool.run(CPU_JOB)));
  out.seconds = (performance.now() - t0) / 1000;
  const cpu = results.map((r) => r.stats.cpuMs);
  out.firstJobsCpuMs = cpu.slice(0, size).map((x) => Math.round(x));
  out.medianJobCpuMs = Math.round([...cpu].sort((a, b) => a - b)[Math.floor(cpu.length / 2)]);
  if (new Set(results.map((r) => r.value)).size !== 1) throw new Error("jobs disagreed");
  await pool.close();
} catch (error) {
  out.failed = String(error?.stack ?? error).split("\n").slice(0, 3).join(" | ");
}
process.stdout.write("RESULT " + JSON.stringify(out) + "\n");
process.exit(0);
