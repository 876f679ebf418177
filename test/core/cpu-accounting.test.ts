// lastCallCpuMs: what the most recent call charged, including the short side
// budgets used after the call's own (reading a thrown value, draining leftover
// jobs). It was negative after a thrown error: the side budget restarted the
// clock while the call's stale deadline was still set.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RExec, TimeoutError } from "../../src/index.js";

const SPIN_50MS = "{ const t0 = Date.now(); while (Date.now() - t0 < 50) {} }";

test("lastCallCpuMs is the call's CPU after a thrown error, never negative", async () => {
  using rx = new RExec({ limits: { timeoutMs: 1000 } });
  for (const thrower of ["throw new Error('x')", "throw { get message() { const t = Date.now(); while (Date.now() - t < 20) {} return 'm' } }", "throw 1", "Promise.reject(new Error('r'))"]) {
    await assert.rejects(rx.r_eval(`${SPIN_50MS}; ${thrower}`));
    assert.ok(rx.lastCallCpuMs >= 45, `${thrower}: lastCallCpuMs ${rx.lastCallCpuMs}`);
    assert.ok(rx.lastCallCpuMs < 1000, `${thrower}: lastCallCpuMs ${rx.lastCallCpuMs}`);
  }
});

test("lastCallCpuMs after a timeout with leftover jobs stays within the budget plus the side budgets", async () => {
  using rx = new RExec({ limits: { timeoutMs: 100 } });
  await assert.rejects(rx.r_eval("for (let i = 0; i < 100; i++) Promise.resolve().then(() => {}); for (;;) {}"), TimeoutError);
  assert.ok(rx.lastCallCpuMs >= 90 && rx.lastCallCpuMs < 100 + 250 + 50 + 50, `lastCallCpuMs ${rx.lastCallCpuMs}`);
  assert.equal(await rx.r_eval("1 + 1"), 2);
  assert.ok(rx.lastCallCpuMs >= 0);
});
