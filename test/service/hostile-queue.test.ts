// The queue worker when Redis is not there: start-up fails clearly after
// connectTimeoutMs instead of waiting silently for ever, and shutdown does not
// wait for Redis for ever (a SIGTERM with Redis down must still end the worker).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startWorker } from "../../src/service/queue-worker.ts";
import { freePort, startRedis } from "./helpers.ts";

describe("queue worker without Redis", () => {
  it("start-up with Redis unreachable fails after connectTimeoutMs, saying so", async () => {
    const port = await freePort();
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("startWorker still waiting after 8 s")), 8000)));
    try {
      await assert.rejects(Promise.race([startWorker({ connection: `redis://127.0.0.1:${port}`, concurrency: 1, connectTimeoutMs: 500 }), hung]), /could not connect to Redis within 500 ms \(connect ECONNREFUSED/);
    } finally {
      clearTimeout(timer);
    }
  });

  it("close() finishes when Redis has gone away", async () => {
    const redis = await startRedis();
    const worker = await startWorker({ connection: redis.url, concurrency: 1, onError: () => {} });
    await redis.stop();
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("hung"), 8000)));
    try {
      assert.equal(await Promise.race([worker.close({ timeoutMs: 500 }).then(() => "closed"), hung]), "closed");
    } finally {
      clearTimeout(timer);
    }
  });

  it("close() finishes when Redis hangs (a partition: the connection looks ready, nothing answers)", async () => {
    const redis = await startRedis();
    const worker = await startWorker({ connection: redis.url, concurrency: 1, onError: () => {} });
    process.kill(redis.pid, "SIGSTOP");
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("hung"), 12_000)));
    try {
      assert.equal(await Promise.race([worker.close({ timeoutMs: 300 }).then(() => "closed"), hung]), "closed");
    } finally {
      clearTimeout(timer);
      process.kill(redis.pid, "SIGCONT");
      // Let BullMQ's own close (abandoned above) finish against the live Redis, so no client of
      // this worker is left reconnecting once Redis stops (that kept the test process alive).
      await Promise.race([worker.worker.close(), new Promise((resolve) => setTimeout(resolve, 5000))]);
      await redis.stop();
    }
  });
});
