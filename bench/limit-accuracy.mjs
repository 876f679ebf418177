// Limit accuracy: how far past memoryBytes a guest gets before MemoryLimitError
// (wasm heap high-water mark and peak process RSS, one child process per
// shape), and how far past timeoutMs each loop shape runs.
//
//   node --import tsx bench/limit-accuracy.mjs            # all, markdown tables
//   node --import tsx bench/limit-accuracy.mjs --json     # machine-readable
// Figures are published in SECURITY.md ("Limits and their accuracy").
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const MEMORY_SHAPES = {
  "1 MB strings in an array": "const a = []; for (;;) a.push('x'.repeat(1e6) + a.length)",
  "string doubling": "let s = 'x'; for (;;) s += s",
  "arrays of 1e5 numbers": "const a = []; for (;;) a.push(new Array(1e5).fill(1))",
  "1 MB typed arrays": "const a = []; for (;;) a.push(new Uint8Array(1e6))",
  "64 KB ArrayBuffers": "const a = []; for (;;) a.push(new ArrayBuffer(65536))",
  "many small objects": "const a = []; for (;;) a.push({ a: 1, b: 'x', c: [1] })",
  "Map entries": "const m = new Map(); for (let i = 0; ; i++) m.set(i, 'v' + i)",
  "object keys": "const o = {}; for (let i = 0; ; i++) o['k' + i] = i",
  "one 200 MB allocation": "new Uint8Array(200 * 1024 * 1024)",
  "huge result copy": "'x'.repeat(24 * 1024 * 1024)",
};
const TIME_SHAPES = {
  "while (true)": "while (true) {}",
  "promise-job loop": "(function f() { return Promise.resolve().then(f) })()",
  "async loop of awaits": "(async () => { for (;;) await null })()",
  "ReDoS /^(a+)+$/": "/^(a+)+$/.test('a'.repeat(40) + 'b')",
  "getter loop during copy-out": "({ get x() { for (;;) {} } })",
  "sort with looping comparator": "[3, 2, 1].sort(() => { for (;;) {} })",
  "deep recursion with work": "function f(n) { for (let i = 0; i < 1e3; i++); return n ? f(n - 1) : f(200) } f(200)",
  "native: indexOf on {length: 1e7} (hole)": "Array.prototype.indexOf.call({ length: 1e7 }, 1)",
  "native: new Array(1e7).join('') (hole)": "new Array(1e7).join('')",
  "native: JSON.stringify 1e6 objects (hole)": "JSON.stringify(Array(1e6).fill({}))",
};

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);

async function child(kind, name, memoryBytes, timeoutMs) {
  const { RExec } = await import("../src/index.ts");
  const rx = new RExec({ limits: { memoryBytes, timeoutMs, resultBytes: 64 * 1024 * 1024 } });
  await rx.r_eval("1");
  const code = (kind === "mem" ? MEMORY_SHAPES : TIME_SHAPES)[name];
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  let error = "none";
  try { await rx.r_eval(code); } catch (e) { error = e.constructor.name; }
  const ms = performance.now() - t0;
  const realm = rx["realm"];
  const heap = realm ? realm.heapBytes : 0;
  const maxRss = process.resourceUsage().maxRSS * 1024;
  rx.dispose();
  console.log(JSON.stringify({ kind, name, memoryBytes, timeoutMs, error, ms, heap, rssBefore, maxRss }));
}

function run(kind, name, memoryBytes, timeoutMs) {
  const r = spawnSync(process.execPath, ["--import", "tsx", self, "--child", kind, name, String(memoryBytes), String(timeoutMs)], { encoding: "utf8", timeout: 120_000 });
  const line = r.stdout.trim().split("\n").pop();
  try { return JSON.parse(line); } catch { return { kind, name, error: `child failed: ${r.signal ?? r.status} ${r.stderr.slice(-200)}` }; }
}

if (args[0] === "--child") {
  await child(args[1], args[2], Number(args[3]), Number(args[4]));
} else {
  const MB = 1024 * 1024;
  const results = [];
  for (const memoryBytes of [32 * MB, 64 * MB]) {
    for (const name of Object.keys(MEMORY_SHAPES)) results.push(run("mem", name, memoryBytes, 10_000));
  }
  for (const timeoutMs of [100, 1000]) {
    for (const name of Object.keys(TIME_SHAPES)) {
      const reps = [1, 2, 3].map(() => run("time", name, 64 * MB, timeoutMs));
      const over = reps.map((r) => r.ms - timeoutMs).sort((a, b) => a - b);
      results.push({ ...reps[0], overMedian: over[1], overMax: over[2] });
    }
  }
  if (args.includes("--json")) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    const f = (n) => (n / MB).toFixed(1);
    console.log("| shape | memoryBytes | error | wasm heap high-water | heap past cap (incl. 16 MiB engine baseline) | peak RSS | RSS growth | time |");
    console.log("|---|---|---|---|---|---|---|---|");
    for (const r of results.filter((x) => x.kind === "mem")) {
      console.log(`| ${r.name} | ${f(r.memoryBytes)} MiB | ${r.error} | ${f(r.heap)} MiB | ${f(r.heap - r.memoryBytes)} MiB | ${f(r.maxRss)} MiB | ${f(r.maxRss - r.rssBefore)} MiB | ${Math.round(r.ms)} ms |`);
    }
    console.log("\n| shape | timeoutMs | error | past timeoutMs (median of 3) | worst of 3 |");
    console.log("|---|---|---|---|---|");
    for (const r of results.filter((x) => x.kind === "time")) {
      console.log(`| ${r.name} | ${r.timeoutMs} | ${r.error} | ${Math.round(r.overMedian)} ms | ${Math.round(r.overMax)} ms |`);
    }
  }
}
