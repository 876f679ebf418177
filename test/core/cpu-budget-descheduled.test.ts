// The CPU budget ends a call when the process has really used the CPU, not when the wall clock
// says so: a thread that is not running (a loaded machine; simulated here by sleeping the
// thread inside the charged window) keeps its budget. It never lets a guest use more.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpuBudget, setThreadPollHook } from "../../src/boundary/cpu-budget.js";
import { RExec, TimeoutError } from "../../src/index.js";

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

test("a budget whose thread slept is not spent; one whose thread ran is, after at least its CPU time", () => {
  const budget = new CpuBudget();
  budget.begin(100);
  sleep(300); // 300 ms of wall time, no CPU
  assert.equal(budget.shouldInterrupt(), false, "ended by wall time the thread did not run");
  const cpuBefore = cpuMs();
  const started = performance.now();
  while (!budget.shouldInterrupt()) {
    if (performance.now() - started > 10_000) assert.fail("the budget never ended a busy thread");
  }
  assert.equal(budget.expired, true);
  // The process used (close to) the whole budget; a little of it may precede the busy loop.
  assert.ok(cpuMs() - cpuBefore >= 80, `${(cpuMs() - cpuBefore).toFixed(0)} ms of CPU`);
  budget.end();
});

test("a busy call still ends at its budget", () => {
  const budget = new CpuBudget();
  budget.begin(50);
  const started = performance.now();
  while (!budget.shouldInterrupt()) {
    if (performance.now() - started > 10_000) assert.fail("never ended");
  }
  assert.equal(budget.expired, true);
  budget.end();
});

test("a sandbox call that loses the CPU for longer than its budget finishes; a runaway one still times out", async () => {
  using rx = new RExec({ limits: { timeoutMs: 100 } });
  await rx.r_eval("1");
  let slept = false;
  setThreadPollHook(() => {
    if (!slept) {
      slept = true;
      sleep(300);
    }
  });
  try {
    assert.equal(await rx.r_eval("let s = 0; for (let i = 0; i < 3e5; i++) s += i; s"), 44999850000);
    assert.ok(slept, "the engine polled during the loop");
    await assert.rejects(rx.r_eval("for (;;) {}"), TimeoutError);
  } finally {
    setThreadPollHook(undefined);
  }
});
