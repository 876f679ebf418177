// Shared helpers of the benchmark: adaptive timing, statistics, workloads.
// Not a test file (the test runner only collects test/**/*.test.*).
import { performance } from "node:perf_hooks";

/** Per-measurement time budget in ms (BENCH_BUDGET_MS scales the whole run). */
export const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 1200);

export function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { median: q(0.5), p99: q(0.99), min: s[0], n: s.length };
}

/** Adaptive run count: the budget, at least `minRuns` unless one run is very slow, never past 4× budget. */
function keepGoing(n, elapsed, budgetMs, minRuns, maxRuns) {
  if (n === 0) return true;
  if (n >= maxRuns || elapsed > 4 * budgetMs) return false;
  return elapsed < budgetMs || n < minRuns;
}

/**
 * Time `op` repeatedly until `budgetMs` is spent (at least `minRuns`, at most
 * `maxRuns`), after `warmup` untimed runs. `op` may return a number: then that
 * number is the sample (in the caller's unit) instead of the wall time in ms.
 * `scale` converts ms samples to the reported unit (e.g. 1000 for µs).
 */
export async function measure(op, { budgetMs = BUDGET_MS, minRuns = 5, maxRuns = 20000, warmup = 2, scale = 1, sample = false } = {}) {
  for (let i = 0, w0 = performance.now(); i < warmup && performance.now() - w0 < budgetMs / 2; i++) await op();
  const samples = [];
  const start = performance.now();
  while (keepGoing(samples.length, performance.now() - start, budgetMs, minRuns, maxRuns)) {
    const t0 = performance.now();
    const r = await op();
    const t1 = performance.now();
    samples.push(sample ? r : (t1 - t0) * scale);
  }
  return stats(samples);
}

/** Synchronous variant (no await per run: for sync APIs, avoids measuring the microtask hop). */
export function measureSync(op, { budgetMs = BUDGET_MS, minRuns = 5, maxRuns = 20000, warmup = 2, scale = 1, sample = false } = {}) {
  for (let i = 0, w0 = performance.now(); i < warmup && performance.now() - w0 < budgetMs / 2; i++) op();
  const samples = [];
  const start = performance.now();
  while (keepGoing(samples.length, performance.now() - start, budgetMs, minRuns, maxRuns)) {
    const t0 = performance.now();
    const r = op();
    const t1 = performance.now();
    samples.push(sample ? r : (t1 - t0) * scale);
  }
  return stats(samples);
}

// ---------------------------------------------------------------------------
// Workloads: the same guest source for every peer.

export const WARM_EXPR = "Math.max(3, 4) + 1";
export const HOST_CALLS = 10000;
/** Guest loop calling the host function `hostAdd` HOST_CALLS times. */
export const HOST_LOOP = `(() => { let s = 0; for (let i = 0; i < ${HOST_CALLS}; i++) s = hostAdd(s, 1); return s; })()`;
/** A ~1 MB structured value (10k records); sets globalThis.big and globalThis.nums, defines fib and g. */
export const SETUP = `
globalThis.big = Array.from({ length: 10000 }, (_, i) => ({
  id: i, name: "item-" + i, active: i % 2 === 0, score: i * 1.5,
  tags: ["alpha", "beta", "gamma"], pos: { x: i, y: -i, z: i * 2 },
}));
globalThis.nums = (() => { const a = new Array(100000); let s = 12345; for (let i = 0; i < a.length; i++) { s = (s * 1103515245 + 12345) & 0x7fffffff; a[i] = s; } return a; })();
globalThis.fib = function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); };
globalThis.g = (a, b) => a + b;
globalThis.bigJsonLength = JSON.stringify(big).length;
globalThis.takeRows = (rows) => rows.length + rows[9999].pos.z;
`;
/** Host-side rows of the same shape as the guest's \`big\` (~1 MB), passed into \`takeRows\`. */
export function rowsIn() {
  return Array.from({ length: 10000 }, (_, i) => ({
    id: i, name: "item-" + i, active: i % 2 === 0, score: i * 1.5,
    tags: ["alpha", "beta", "gamma"], pos: { x: i, y: -i, z: i * 2 },
  }));
}
/** What takeRows(rowsIn()) returns. */
export const ROWS_IN_RESULT = 10000 + 19998;
export const FIB = "fib(25)";
export const SORT = "nums.slice().sort((a, b) => a - b)[0]";
export const JSON_RT = "JSON.parse(JSON.stringify(big)).length";

/** A module tree of 10 files for the import benchmark. */
export function moduleFiles() {
  const files = {};
  const names = [];
  for (let i = 1; i <= 9; i++) {
    names.push(`m${i}`);
    files[`/lib/m${i}.js`] = `export const name${i} = "m${i}";\nexport function f${i}(x) { return x * ${i} + ${i}; }\nexport const table${i} = [${Array.from({ length: 20 }, (_, k) => k * i).join(", ")}];\n`;
  }
  files["/main.js"] =
    names.map((n, i) => `import { f${i + 1}, name${i + 1} } from "./lib/${n}.js";`).join("\n") +
    `\nexport const names = [${names.map((_, i) => `name${i + 1}`).join(", ")}];\nexport function total(x) { return ${names.map((_, i) => `f${i + 1}(x)`).join(" + ")}; }\nexport const answer = total(1);\n`;
  return files;
}
