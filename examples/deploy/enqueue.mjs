// A producer for `rexec worker`: add jobs to the BullMQ queue "rexec" and wait
// for their results. Run from the repository root, with Redis and at least one
// worker up:
//   redis-server --save '' &
//   node bin/rexec.js worker --queue redis://127.0.0.1:6379 &
//   node examples/deploy/enqueue.mjs redis://127.0.0.1:6379
import { Queue, QueueEvents } from "bullmq";

const url = process.argv[2] ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const connection = { url, maxRetriesPerRequest: null };
const queue = new Queue("rexec", { connection });
// Read completion events from a minute ago on, not only from when the events
// connection happens to start reading: a job that finishes in between would
// otherwise never be reported to waitUntilFinished (the minute covers clock skew
// with the Redis server; older events of other jobs are ignored).
const events = new QueueEvents("rexec", { connection, lastEventId: `${Date.now() - 60_000}-0` });
await events.waitUntilReady();

const jobs = [
  { code: "input.items.reduce((s, x) => s + x.price * x.qty, 0)", input: { items: [{ price: 2.5, qty: 4 }, { price: 1, qty: 3 }] } },
  { code: "console.log('thinking'); JSON.parse(input)", input: "{not json" },   // the guest throws: a final result
  { code: "while (true) {}", limits: { timeoutMs: 100 } },                     // a limit: a final result, never retried
];
// attempts: only failures of a worker itself (a thread or process that died) are retried.
const added = await Promise.all(jobs.map((data) => queue.add("run", data, { attempts: 3, backoff: { type: "exponential", delay: 500 }, removeOnComplete: 1000 })));
for (const job of added) {
  const result = await job.waitUntilFinished(events, 30_000);
  console.log(job.id, "error" in result ? `${result.error.name}: ${result.error.message}` : result.value, JSON.stringify(result.stdout));
}
await events.close();
await queue.close();
