// RExecPool: stateless runs across threads, bounded queue, cancellation, replacement.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { GuestError, MemoryLimitError, RExecError, SystemExit, TimeoutError } from "../../src/host/errors.ts";
import { AbortError, QueueFullError, RExecPool } from "../../src/pool/index.ts";

const SPIN = "while (true) {}";

describe("RExecPool", () => {
  const pool = new RExecPool({
    size: 2,
    queueLimit: 2,
    limits: { timeoutMs: 300, memoryBytes: 16 * 1024 * 1024 },
    globals: {
      add: (a: number, b: number) => a + b,
      later: async (x: number) => x * 10,
      base: 100,
    },
  });
  after(() => pool.close({ force: true }));

  it("runs code and reports stats", async () => {
    const { value, stats, output } = await pool.run("console.log('hi'); base + add(1, 2)");
    assert.equal(value, 103);
    assert.equal(output.stdout, "hi\n");
    assert.ok(stats.wallMs >= 0 && stats.cpuMs >= 0 && stats.cpuMs <= stats.wallMs + 1);
    assert.ok(stats.peakMemoryBytes > 0, `peak ${stats.peakMemoryBytes}`);
    assert.equal((await pool.run("later(4)")).value, 40);
  });

  it("is stateless: each run gets a fresh realm", async () => {
    await pool.run("globalThis.leak = 1");
    assert.equal((await pool.run("typeof leak")).value, "undefined");
  });

  it("delivers typed errors", async () => {
    const guest = await pool.run("null.x").catch((e) => e);
    assert.ok(guest instanceof GuestError);
    assert.equal(guest.guestName, "TypeError");
    const exit = await pool.run("exit(7)").catch((e) => e);
    assert.ok(exit instanceof SystemExit);
    assert.equal(exit.code, 7);
    await assert.rejects(pool.run(SPIN), TimeoutError);
  });

  it("keeps serving after a guest exhausts its memory or breaks its engine", async () => {
    const oom = await pool.run("const a = []; for (;;) a.push('x'.repeat(1 << 20) + a.length)").catch((e) => e);
    assert.ok(oom instanceof MemoryLimitError, String(oom));
    assert.equal((await pool.run("1 + 1")).value, 2);
    const values = await Promise.all([pool.run("'a'"), pool.run("'b'")]);
    assert.deepEqual(values.map((r) => r.value), ["a", "b"]);
  });

  it("keeps the host event loop ticking while runs spin", async () => {
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    await Promise.all([pool.run(SPIN).catch(() => {}), pool.run(SPIN).catch(() => {})]);
    clearInterval(interval);
    assert.ok(ticks >= 10, `only ${ticks} ticks`);
  });

  it("rejects at once when the queue is full", async () => {
    const running = [pool.run(SPIN), pool.run(SPIN)];
    for (const r of running) r.catch(() => {});
    const queued = [pool.run("1"), pool.run("2")];
    const started = performance.now();
    const error = await pool.run("3").catch((e) => e);
    assert.ok(error instanceof QueueFullError, String(error));
    assert.equal(error.queueLimit, 2);
    assert.ok(performance.now() - started < 200, "rejected at once, not after a wait");
    await Promise.allSettled(running);
    assert.deepEqual((await Promise.all(queued)).map((r) => r.value), [1, 2]);
  });

  it("cancels a queued run through its AbortSignal", async () => {
    const running = [pool.run(SPIN), pool.run(SPIN)];
    for (const r of running) r.catch(() => {});
    const controller = new AbortController();
    const queued = pool.run("'never'", { signal: controller.signal });
    controller.abort();
    const error = await queued.catch((e) => e);
    assert.ok(error instanceof AbortError, String(error));
    const outcomes = await Promise.allSettled(running);
    assert.ok(outcomes.every((o) => o.status === "rejected" && o.reason instanceof TimeoutError));
  });

  it("stops a running run through its AbortSignal, and replaces the killed thread", async () => {
    const controller = new AbortController();
    const pending = pool.run(SPIN, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await pending.catch((e) => e);
    assert.ok(error instanceof AbortError, String(error));
    // AbortError, not TimeoutError: the run was stopped before its CPU budget ran out.
    await assert.rejects(pool.run("1", { signal: AbortSignal.abort() }), AbortError);
    const values = await Promise.all([pool.run("'x'"), pool.run("'y'")]);
    assert.deepEqual(values.map((r) => r.value), ["x", "y"]);
  });
});

describe("RExecPool wall clock", () => {
  it("terminates a run at the wall-clock deadline and keeps serving", async () => {
    const pool = new RExecPool({ size: 1, limits: { timeoutMs: 60_000 }, wallTimeoutMs: 200 });
    try {
      const error = await pool.run(SPIN).catch((e) => e);
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.limit, "wallTimeoutMs");
      assert.equal((await pool.run("6 * 7")).value, 42);
    } finally {
      await pool.close();
    }
  });

  it("rejects runs after close", async () => {
    const pool = new RExecPool({ size: 1 });
    await pool.close();
    await assert.rejects(pool.run("1"), RExecError);
  });
});
