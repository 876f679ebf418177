/**
 * Worker mode and the pool never die, never hang, never reject into the void
 * (issue 10) — tested by mechanism, each in a child process with Node's
 * default unhandled-rejection behaviour (exit code 1), so a rejection rexec
 * lets escape, a worker or pool thread a job kills, or a hang fails the test.
 *
 * - hostile jobs (fast-check: functions under every implicit-call name with
 *   throwing, looping, exiting, never-settling and symbol-returning bodies;
 *   getters with the same bodies; shared DAGs; deep nesting; huge key
 *   counts), delivered as results, thrown
 *   values, rejections, host-function arguments, kept values and callbacks,
 *   against ONE worker-mode instance and ONE single-thread pool: after every
 *   job an unrelated job must still succeed on the same worker / thread;
 * - a host that drops every promise at the moment it rejects: worker deaths
 *   (heap backstop, wall-clock deadline, dispose) with calls pending, calls
 *   and guest functions after death, failed pool runs, dead pool functions,
 *   a pool closed with runs pending; and the heap-backstop error names the
 *   real limit.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import fc from "fast-check";
import { IMPLICIT_CALL_NAMES } from "../../src/boundary/implicit-calls.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const child = (name: string) => fileURLToPath(new URL(`./children/${name}`, import.meta.url));

function run(script: string, args: string[], timeoutMs: number): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = performance.now();
  const out = spawnSync(process.execPath, ["--import", "tsx", script, ...args], { cwd: ROOT, encoding: "utf8", timeout: timeoutMs, maxBuffer: 16 << 20 });
  return { status: out.status, stdout: out.stdout ?? "", stderr: out.stderr ?? "", ms: performance.now() - t0 };
}

/** Every way a guest function's call can fail or never end. */
const BODIES = [
  "throw new Error('boom')",
  "throw { toJSON() { throw 1 } }",
  "throw 1",
  "for (;;) {}",
  "exit(3)",
  "return new Promise(() => {})",
  "return Symbol('s')",
  "return 1",
];

const name = fc.constantFrom(...IMPLICIT_CALL_NAMES, "a");
const fn = fc.constantFrom(...BODIES).map((body) => `function () { ${body} }`);

/** Hostile guest values, as guest source. */
const hostileValue: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(name, fn).map(([k, f]) => `{ ${JSON.stringify(k)}: ${f}, data: 1 }`),
  fc.tuple(name, fn).map(([k, f]) => `(() => { const e = new Error('x'); e[${JSON.stringify(k)}] = ${f}; return e })()`),
  fc.tuple(name, fn, fc.integer({ min: 20, max: 45 })).map(([k, f, d]) => `(() => { let x = [{ ${JSON.stringify(k)}: ${f} }]; for (let i = 0; i < ${d}; i++) x = [x, x]; return x })()`),
  fc.tuple(name, fn, fc.integer({ min: 100, max: 5000 })).map(([k, f, d]) => `(() => { let x = { ${JSON.stringify(k)}: ${f} }; for (let i = 0; i < ${d}; i++) x = { x }; return x })()`),
  fc.tuple(name, fn, fc.integer({ min: 1000, max: 200_000 })).map(([k, f, n]) => `(() => { const o = { ${JSON.stringify(k)}: ${f} }; for (let i = 0; i < ${n}; i++) o['k' + i] = i; return o })()`),
  fc.constantFrom(...BODIES).map((body) => `{ get a() { ${body} }, data: 1 }`),
  fn,
);

const SEED = Number(process.env.REXEC_FUZZ_SEED ?? Date.now() % 1_000_000);
const RUNS = Number(process.env.REXEC_HOSTILE_JOBS ?? 6);

function assertSurvives(mode: "worker" | "pool"): void {
  const values = fc.sample(hostileValue, { seed: SEED, numRuns: RUNS });
  const dir = mkdtempSync(join(tmpdir(), "rexec-hostile-jobs-"));
  const file = join(dir, "values.json");
  writeFileSync(file, JSON.stringify(values));
  const out = run(child("hostile-jobs.ts"), [file, mode], 120_000);
  const cases = out.stdout.match(/CASE \d+/g) ?? [];
  const last = cases.length > 0 ? Number(cases[cases.length - 1]!.slice(5)) : -1;
  const context = `(${mode}, seed ${SEED}; rerun with REXEC_FUZZ_SEED=${SEED}) exit ${out.status} after ${out.ms.toFixed(0)} ms at case ${last}: ${values[last] ?? "(start-up)"}\n${out.stdout.slice(-2000)}\n${out.stderr.slice(-3000)}`;
  assert.equal(out.status, 0, `the host process died or hung ${context}`);
  assert.match(out.stdout, new RegExp(`DONE ${values.length} broken 0`), `a job left the ${mode === "pool" ? "pool thread" : "worker"} unusable ${context}`);
}

describe("worker mode and the pool survive hostile jobs", () => {
  it("one worker-mode instance serves an unrelated call after every hostile job", { timeout: 150_000 }, () => {
    assertSurvives("worker");
  });

  it("one pool thread serves an unrelated job after every hostile job", { timeout: 150_000 }, () => {
    assertSurvives("pool");
  });
});

describe("no rejection worker mode or the pool creates goes unhandled", () => {
  it("a host that drops every promise at the moment it rejects survives; the heap backstop names the real limit", { timeout: 90_000 }, () => {
    const out = run(child("worker-deaths.ts"), [], 60_000);
    assert.equal(out.status, 0, `the host process died (exit ${out.status}):\n${out.stdout}\n${out.stderr.slice(-3000)}`);
    assert.match(out.stdout, /^OOM MemoryLimitError maxOldGenerationSizeMb .*\(maxOldGenerationSizeMb 24\)/m);
    assert.match(out.stdout, /^WALL TimeoutError wallTimeoutMs /m);
    assert.match(out.stdout, /^DISPOSED ok$/m);
    assert.match(out.stdout, /^POOL 42$/m);
    assert.match(out.stdout, /^POOLOOM MemoryLimitError maxOldGenerationSizeMb .*\(maxOldGenerationSizeMb 24\)/m);
    assert.match(out.stdout, /^POOLNEXT 42$/m);
    assert.match(out.stdout, /^DONE$/m);
  });
});
