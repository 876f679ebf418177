// ServiceRunner, the admission and pool set under rexec serve and rexec worker:
// FIFO admission with a bounded waiting line, cancellation of a waiting job,
// one pool per distinct set of limits (bounded; idle ones evicted; all busy → PoolsBusyError).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { AbortError } from "../../src/host/errors.ts";
import { MAX_RUN_FILE_BYTES } from "../../src/pool/pool.ts";
import { checkJob, InvalidJobError, PoolsBusyError, QueueFullError, ServiceRunner, ShuttingDownError } from "../../src/service/index.ts";

const busy = (ms: number, value: string): string => `{ const t = Date.now(); while (Date.now() - t < ${ms}) {} } ${value}`;

describe("ServiceRunner", () => {
  const runner = new ServiceRunner({ concurrency: 1, queueLimit: 2, maxPools: 2, limits: { timeoutMs: 2000 } });
  after(() => runner.close({ force: true }));

  it("admits one at a time in order, holds queueLimit more, refuses the next at once, and drops a waiting job whose signal aborts", async () => {
    await runner.run({ code: "0" });
    const finished: string[] = [];
    const track = (p: Promise<unknown>, label: string): Promise<unknown> => p.then((r) => { finished.push(label); return r; });
    const first = track(runner.run({ code: busy(300, "'a'") }), "a");
    const gone = new AbortController();
    const second = runner.run({ code: "'b'" }, { signal: gone.signal });
    const third = track(runner.run({ code: "'c'" }), "c");
    assert.equal(runner.running, 1);
    assert.equal(runner.queued, 2);
    await assert.rejects(runner.run({ code: "'d'" }), (error: Error) => error instanceof QueueFullError && /queue is full/.test(error.message));
    gone.abort("changed my mind");
    await assert.rejects(second, (error: Error) => error instanceof AbortError && error.cause === "changed my mind");
    assert.equal(runner.queued, 1);
    assert.deepEqual(await first, { value: "a", stdout: "", stderr: "", stats: (await first as { stats: unknown }).stats });
    assert.equal(((await third) as { value: string }).value, "c");
    assert.deepEqual(finished, ["a", "c"]);
    assert.equal(runner.running + runner.queued, 0);
  });

  it("a deadline (timeoutMs) runs from when the job gets a thread: waiting does not count, running past it answers TimeoutError jobTimeoutMs", async () => {
    const ahead = runner.run({ code: busy(400, "'ahead'") });
    const waited = runner.runChecked(checkJob({ code: "'in time'" }, runner.limits, Infinity, runner.modules), { timeoutMs: 250 });
    assert.equal(((await ahead) as { value: string }).value, "ahead");
    assert.equal(((await waited) as { value: string }).value, "in time");
    const late = await runner.runChecked(checkJob({ code: "for (;;) {}" }, runner.limits, Infinity, runner.modules), { timeoutMs: 100 });
    assert.deepEqual((late as { error: unknown }).error, { name: "TimeoutError", message: "the job ran longer than its deadline (jobTimeoutMs 100 ms); its thread was stopped", limit: "jobTimeoutMs", limitValue: 100 });
  });

  it("a malformed job is refused before it takes a slot", async () => {
    await assert.rejects(runner.run({ code: "1", limits: { timeoutMs: 3000 } }), InvalidJobError);
    await assert.rejects(runner.run("1"), InvalidJobError);
    assert.equal(runner.running + runner.queued, 0);
  });

  it("keeps at most maxPools pools: an idle pool of other limits is evicted; when none is idle, PoolsBusyError", async () => {
    assert.equal(runner.pools, 1);
    const a = await runner.run({ code: "for (;;) {}", limits: { timeoutMs: 30 } });
    assert.equal((a as { error: { limitValue: number } }).error.limitValue, 30);
    assert.equal(runner.pools, 2);
    const b = await runner.run({ code: "for (;;) {}", limits: { timeoutMs: 40 } });
    assert.equal((b as { error: { limitValue: number } }).error.limitValue, 40);
    assert.equal(runner.pools, 2);

    const one = new ServiceRunner({ concurrency: 1, maxPools: 1 });
    try {
      await assert.rejects(one.run({ code: "1", limits: { timeoutMs: 10 } }), PoolsBusyError);
      assert.equal(((await one.run({ code: "1" })) as { value: number }).value, 1);
    } finally {
      await one.close();
    }
  });

  it("a job's files count toward the server's code size limit together with its code (names included)", () => {
    const job = (files: Record<string, string>): unknown => checkJob({ code: "x".repeat(60), files }, runner.limits, 100, runner.modules);
    assert.deepEqual(Object.entries((job({ "a.js": "y".repeat(36) }) as { files: object }).files), [["a.js", "y".repeat(36)]]);
    assert.throws(() => job({ "a.js": "y".repeat(37) }), (error: Error) => error instanceof InvalidJobError && /"code" and "files" together/.test(error.message));
    assert.throws(() => job({ ["n".repeat(30)]: "", b: "y".repeat(10) }), InvalidJobError);
  });

  it("a job's files are held to the pool's own bound too, even when the server takes more code (an InvalidJobError, not a service failure)", async () => {
    // A large --body-limit raises maxCodeBytes past what RExecPool.run takes as files (MAX_RUN_FILE_BYTES).
    const big = new ServiceRunner({ concurrency: 1, maxCodeBytes: MAX_RUN_FILE_BYTES + 1024 * 1024 });
    try {
      const files = { "a.js": "x".repeat(MAX_RUN_FILE_BYTES) };
      await assert.rejects(big.run({ code: "1", files }), (error: Error) => error instanceof InvalidJobError && /"files"/.test(error.message));
      assert.equal(big.running + big.queued, 0);
    } finally {
      await big.close({ force: true });
    }
  });

  it("after close() it refuses jobs with ShuttingDownError", async () => {
    const closing = new ServiceRunner({ concurrency: 1 });
    await closing.close();
    await assert.rejects(closing.run({ code: "1" }), ShuttingDownError);
  });
});
