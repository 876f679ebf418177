/**
 * The worker / pool watchdog charges every moment the worker thread runs
 * guest code — also while the guest awaits a host function — and not the time
 * the worker only waits for the host (src/worker/watchdog.ts).
 *
 * The CPU budget (`limits.timeoutMs`) and the realm's own wall limit
 * (`limits.wallTimeMs`) are set far above the watchdog's deadline, so the
 * watchdog is the only thing that can stop these spins: a test that hangs
 * here means guest code ran uncharged.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { TimeoutError } from "../../src/host/errors.ts";
import { RExec } from "../../src/index.ts";
import { RExecPool } from "../../src/pool/index.ts";

const WALL = 400;
const limits = { timeoutMs: 120_000, wallTimeMs: 120_000 };
const globals = {
  never: () => new Promise(() => {}),
  slowAsync: () => new Promise((resolve) => setTimeout(() => resolve(7), 3 * WALL)),
  slowSync: () => {
    // Blocks this (the host's) thread: the worker waits, it does not run.
    const end = performance.now() + 2 * WALL;
    while (performance.now() < end);
    return 8;
  },
};

/** A guest timer that spins while the guest awaits a host promise that never settles. */
const SPIN_WHILE_AWAITING = "setTimeout(() => { for (;;) {} }, 20); never()";
/** The same after the host promise settled: the spin runs in a promise job. */
const SPIN_AFTER_HOST = "slowAsync().then(() => { for (;;) {} })";

const isWallTimeout = (e: unknown) => e instanceof TimeoutError && e.limit === "wallTimeoutMs";

describe("worker mode watchdog", () => {
  it("stops a guest timer spinning while the guest awaits a never-settling host function", { timeout: 30_000 }, async () => {
    const rx = new RExec({ worker: { wallTimeoutMs: WALL }, limits, globals });
    await rx.r_eval("1");
    await assert.rejects(rx.r_eval(SPIN_WHILE_AWAITING) as Promise<unknown>, isWallTimeout);
    rx.dispose();
  });

  it("stops a spin in a promise job after a slow host function settled", { timeout: 30_000 }, async () => {
    const rx = new RExec({ worker: { wallTimeoutMs: WALL }, limits, globals });
    await rx.r_eval("1");
    await assert.rejects(rx.r_eval(SPIN_AFTER_HOST) as Promise<unknown>, isWallTimeout);
    rx.dispose();
  });

  it("does not charge time spent waiting for a slow async or a slow sync host function", { timeout: 30_000 }, async () => {
    const rx = new RExec({ worker: { wallTimeoutMs: WALL }, limits, globals });
    await rx.r_eval("1");
    assert.equal(await rx.r_eval("slowAsync()"), 7);
    assert.equal(await rx.r_eval("slowSync() + slowSync()"), 16);
    assert.equal(rx.alive, true);
    rx.dispose();
  });
});

describe("pool watchdog", () => {
  const pool = new RExecPool({ size: 1, wallTimeoutMs: WALL, limits, globals });
  after(() => pool.close({ force: true }));

  it("stops guest code spinning while the guest awaits a host function, and the pool keeps serving", { timeout: 30_000 }, async () => {
    await assert.rejects(pool.run(SPIN_WHILE_AWAITING), isWallTimeout);
    await assert.rejects(pool.run(SPIN_AFTER_HOST), isWallTimeout);
    assert.equal((await pool.run("6 * 7")).value, 42);
  });

  it("does not charge time spent waiting for host functions", { timeout: 30_000 }, async () => {
    assert.equal((await pool.run("slowAsync()")).value, 7);
    assert.equal((await pool.run("slowSync() + slowSync()")).value, 16);
  });
});
