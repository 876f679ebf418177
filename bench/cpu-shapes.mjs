// CPU shapes: how far past timeoutMs each native-heavy shape runs, in-thread,
// in worker mode and in the pool (one child process per shape and mode, so a
// shape that never ends in-thread is killed and reported as such).
//
//   node --import tsx bench/cpu-shapes.mjs            # markdown table
//   node --import tsx bench/cpu-shapes.mjs --json     # machine-readable
// Figures are published in SECURITY.md ("CPU shapes"). The same shapes are
// asserted in test/security/cpu-shapes.test.ts.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const WARM = "for (let i = 0; i < 100000; i++) {}\n";
/** name → [code, bounded in-thread?] */
const SHAPES = {
  "fill on {length: 2^53} over a Uint8Array prototype": ["Array.prototype.fill.call({ length: 2 ** 53, __proto__: new Uint8Array(0) }, 0)", true],
  "join of a 2M-element Float64Array": ["new Float64Array(2e6).fill(1.5).join()", true],
  "loop of split('b') over 400k chars": ["const s = 'ab'.repeat(2e5); for (;;) s.split('b')", true],
  "loop of join of 2^20 doubles": ["const a = new Array(2 ** 20).fill(1.1); for (;;) a.join()", true],
  "loop of replaceAll over 300k chars (after warm-up)": [WARM + "const s = 'a'.repeat(3e5); for (;;) s.replaceAll('a', 'b')", true],
  "loop of /a/g replace over 300k chars": ["const s = 'a'.repeat(3e5); for (;;) s.replace(/a/g, '')", true],
  "loop of JSON.parse of 590 KB": ["const t = JSON.stringify(Array.from({ length: 1e5 }, (_, i) => i)); for (;;) JSON.parse(t)", true],
  "loop of normalize of 300k chars": ["const s = 'é'.repeat(3e5); for (;;) s.normalize('NFD')", true],
  "loop of normalize (after warm-up)": [WARM + "const s = 'é'.repeat(3e5); for (;;) s.normalize('NFD')", true],
  "String of a 1M-bit BigInt": ["String((1n << 1048000n) - 1n)", false],
  "default sort of three 1M-bit BigInts": ["const x = (1n << 1000000n) - 1n; [x, x, x].sort()", false],
  "loop of BigInt parses of 300k digits (after warm-up)": [WARM + "const s = '9'.repeat(3e5); for (;;) BigInt(s)", false],
  "/a/g replace over 40M chars": ["'a'.repeat(4e7).replace(/a/g, '')", false],
  "Function of a 4 MB source": ["Function('x=1;'.repeat(1e6))", false],
};
const TIMEOUT_MS = 100;
const LIMITS = { timeoutMs: TIMEOUT_MS, memoryBytes: 64 * 1024 * 1024 };
const KILL_MS = 40_000;

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);

async function child(mode, name) {
  const code = `{\n${SHAPES[name][0]}\n}`;
  let run, close;
  if (mode === "pool") {
    const { RExecPool } = await import("../src/pool/index.ts");
    const pool = new RExecPool({ size: 1, limits: LIMITS });
    await pool.run("1");
    run = () => pool.run(code);
    close = () => pool.close({ force: true });
  } else {
    const { RExec } = await import("../src/index.ts");
    const rx = new RExec({ worker: mode === "worker", limits: LIMITS });
    await rx.r_eval("1");
    run = () => rx.r_eval(code);
    close = () => rx.dispose();
  }
  const t0 = performance.now();
  let error = "none (returned)";
  try { await run(); } catch (e) { error = e.constructor.name; }
  const ms = performance.now() - t0;
  await close();
  console.log(JSON.stringify({ mode, name, error, ms }));
  process.exit(0);
}

function measure(mode, name) {
  const r = spawnSync(process.execPath, ["--import", "tsx", self, "--child", mode, name], { encoding: "utf8", timeout: KILL_MS });
  const line = r.stdout.trim().split("\n").pop();
  try { return JSON.parse(line); } catch { return { mode, name, error: r.signal === "SIGTERM" ? `still running at ${KILL_MS / 1000} s (killed)` : `child failed: ${r.signal ?? r.status}`, ms: NaN }; }
}

if (args[0] === "--child") {
  await child(args[1], args[2]);
} else {
  const results = [];
  for (const name of Object.keys(SHAPES)) {
    for (const mode of ["in-thread", "worker", "pool"]) results.push(measure(mode, name));
  }
  if (args.includes("--json")) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    const cell = (r) => (Number.isNaN(r.ms) ? r.error : `${Math.round(r.ms - TIMEOUT_MS)} ms (${r.error})`);
    console.log(`| shape | bounded in-thread | in-thread: past ${TIMEOUT_MS} ms | worker | pool |`);
    console.log("|---|---|---|---|---|");
    for (const name of Object.keys(SHAPES)) {
      const [a, w, p] = ["in-thread", "worker", "pool"].map((m) => results.find((r) => r.name === name && r.mode === m));
      console.log(`| ${name} | ${SHAPES[name][1] ? "yes" : "no: worker only"} | ${cell(a)} | ${cell(w)} | ${cell(p)} |`);
    }
  }
}
