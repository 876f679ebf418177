// The BullMQ queue worker against a real redis-server started here: results
// and guest failures stored as results (never retried), malformed jobs failed
// without retry, hostile jobs, and several `rexec worker` processes sharing a
// queue — one killed mid-job (its job finished by another), a flood with
// none lost, graceful SIGTERM.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Queue, UnrecoverableError, type Job } from "bullmq";
import { RExecError } from "../../src/host/errors.ts";
import { resolveLimits } from "../../src/host/limits.ts";
import { createProcessor, jobTimeoutMs, startWorker, type JobRunner, type QueueWorker } from "../../src/service/queue-worker.ts";
import { PoolsBusyError } from "../../src/service/runner.ts";
import { fileURLToPath } from "node:url";
import { runNodeScript, startCli, startRedis, stopChild, until, type CliProcess, type RedisServer } from "./helpers.ts";

const MB = 1024 * 1024;
const busy = (ms: number, value = "1"): string => `{ const t = Date.now(); while (Date.now() - t < ${ms}) {} } ${value}`;

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(() => redis?.stop());

/** The job once it is completed or failed (bounded wait). */
async function settled(queue: Queue, id: string, timeoutMs = 15_000): Promise<Job> {
  return until<Job>(`job ${id} to finish`, async () => {
    // State first, then the job: a job read before its state could be a snapshot from before it ran.
    const state = await queue.getJobState(id);
    return state === "completed" || state === "failed" ? queue.getJob(id) : undefined;
  }, timeoutMs);
}

describe("queue worker (library, in this process)", () => {
  let queue: Queue;
  let worker: QueueWorker;
  before(async () => {
    const connection = { url: redis.url, maxRetriesPerRequest: null };
    // The default queue name, so examples/deploy/enqueue.mjs (which uses it) runs against this worker.
    queue = new Queue("rexec", { connection });
    worker = await startWorker({ connection: redis.url, concurrency: 2, limits: { timeoutMs: 500, memoryBytes: 32 * MB, outputBytes: 64 * 1024 } });
  });
  after(async () => {
    await worker?.close({ timeoutMs: 0 });
    await queue?.close();
  });

  it("a job's return value is { value, stdout, stderr, stats }", async () => {
    const added = await queue.add("run", { code: "console.log('n is', input.n); input.n * 2", input: { n: 21 } }, { attempts: 3 });
    const job = await settled(queue, added.id!);
    assert.equal(await job.getState(), "completed");
    assert.equal(job.returnvalue.value, 42);
    assert.equal(job.returnvalue.stdout, "n is 21\n");
    assert.equal(job.returnvalue.stderr, "");
    assert.equal(typeof job.returnvalue.stats.cpuMs, "number");
  });

  it("guest failures and limit hits are the job's final result, never retried", async () => {
    const cases: [string, string, Record<string, unknown>?][] = [
      ["console.log('x'); throw new RangeError('nope')", "GuestError"],
      ["for (;;) {}", "TimeoutError"],
      ["const a = []; for (;;) a.push(new Float64Array(1e6))", "MemoryLimitError"],
      ["for (;;) console.log('y'.repeat(1000))", "OutputLimitError"],
      ["exit(3)", "SystemExit"],
      ["for (;;) {}", "TimeoutError", { timeoutMs: 50 }],
    ];
    const added = await Promise.all(cases.map(([code, , limits]) => queue.add("run", limits ? { code, limits } : { code }, { attempts: 3, backoff: { type: "fixed", delay: 10 } })));
    for (const [i, item] of added.entries()) {
      const job = await settled(queue, item.id!);
      const [code, name, limits] = cases[i]!;
      assert.equal(await job.getState(), "completed", code);
      assert.equal(job.returnvalue.error.name, name, code);
      assert.equal(job.attemptsStarted, 1, `${code} ran once`);
      if (limits) assert.equal(job.returnvalue.error.limitValue, 50);
    }
    assert.equal((await queue.getJob(added[0]!.id!))!.returnvalue.stdout, "x\n");
    assert.equal((await queue.getJob(added[4]!.id!))!.returnvalue.error.code, 3);
  });

  it("examples/deploy/enqueue.mjs, the producer example, gets a value, a guest error and a limit hit back", async () => {
    const { code, stdout, stderr } = await runNodeScript([fileURLToPath(new URL("../../examples/deploy/enqueue.mjs", import.meta.url)), redis.url]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split("\n");
    assert.match(lines[0]!, /^\S+ 13 ""$/);
    assert.match(lines[1]!, /^\S+ GuestError: .*JSON.* "thinking\\n"$/);
    assert.match(lines[2]!, /^\S+ TimeoutError: .*100 ms/);
  });

  it("malformed job data fails the job at once (UnrecoverableError), never retried", async () => {
    const bad: unknown[] = ["1 + 1", [1], { code: 1 }, {}, { code: "1", extra: 1 }, { code: "1", limits: { timeoutMs: 60_000 } }, { code: "1", limits: { memoryBytes: "big" } }];
    const added = await Promise.all(bad.map((data) => queue.add("run", data, { attempts: 3, backoff: { type: "fixed", delay: 10 } })));
    for (const [i, item] of added.entries()) {
      const job = await settled(queue, item.id!);
      assert.equal(await job.getState(), "failed", JSON.stringify(bad[i]));
      assert.match(job.failedReason, /^invalid rexec job: /, JSON.stringify(job.toJSON()));
      assert.equal(job.attemptsStarted, 1);
    }
    // The worker goes on.
    const ok = await settled(queue, (await queue.add("run", { code: "'still here'" })).id!);
    assert.equal(ok.returnvalue.value, "still here");
  });
});

describe("queue worker: which failures are retried", () => {
  const limits = resolveLimits({});
  const job = { data: { code: "1" } } as Job;
  const runnerAnswering = (outcome: () => Promise<unknown>): JobRunner => ({ limits, maxCodeBytes: 1000, modules: [], runChecked: outcome as JobRunner["runChecked"] });
  const guestFailure = { error: { name: "TimeoutError", message: "t" }, stdout: "", stderr: "", stats: undefined };

  it("a failure of the service itself (a pool thread died) is thrown as a retryable error", async () => {
    const processor = createProcessor(runnerAnswering(async () => { throw new RExecError("the pool thread running this job died (test)"); }));
    await assert.rejects(processor(job), (error: Error) => error instanceof RExecError && !(error instanceof UnrecoverableError));
  });

  it("a guest's failure is returned as the result, or with failOnGuestError thrown as UnrecoverableError", async () => {
    assert.deepEqual(await createProcessor(runnerAnswering(async () => guestFailure))(job), guestFailure);
    await assert.rejects(createProcessor(runnerAnswering(async () => guestFailure), { failOnGuestError: true })(job), (error: Error) => error instanceof UnrecoverableError && error.message === "TimeoutError: t");
  });

  it("job data larger than maxJobBytes (input included) fails unrun and unretried; at the bound it runs", async () => {
    // Nothing else bounds what a producer puts on the queue (POST /run has the HTTP body limit).
    let ran = 0;
    const counting = runnerAnswering(async () => (ran++, guestFailure));
    const processor = createProcessor(counting, { maxJobBytes: 1000 });
    const refused = (error: Error) => error instanceof UnrecoverableError && /more than 1000 characters of JSON/.test(error.message) && /--max-job-size/.test(error.message);
    await assert.rejects(processor({ data: { code: "1", input: "x".repeat(1000) } } as Job), refused);
    await assert.rejects(processor({ data: { code: "1", input: { list: Array.from({ length: 600 }, (_, i) => i) } } } as Job), refused);
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    await assert.rejects(processor({ data: { code: "1", input: deep } } as Job), refused);
    // The default is 1 Mi characters: 5 MB of input is refused at once.
    await assert.rejects(createProcessor(counting)({ data: { code: "1", input: "y".repeat(5_000_000) } } as Job), (error: Error) => error instanceof UnrecoverableError && /1048576/.test(error.message));
    assert.equal(ran, 0);
    const exact = { code: "1", input: "z".repeat(1000 - JSON.stringify({ code: "1", input: "" }).length) };
    assert.equal(JSON.stringify(exact).length, 1000);
    await processor({ data: exact } as Job);
    assert.equal(ran, 1);
  });

  it("a job that finds every pool busy waits for one (it is not the job's fault); past the wait it fails retryably", async () => {
    // Under BullMQ's default of one attempt, failing at once lost the job.
    let tries = 0;
    const busyTwice = runnerAnswering(async () => {
      if (++tries <= 2) throw new PoolsBusyError("all pools busy (test)");
      return guestFailure;
    });
    assert.deepEqual(await createProcessor(busyTwice)(job), guestFailure);
    assert.equal(tries, 3);
    const alwaysBusy = runnerAnswering(async () => { throw new PoolsBusyError("all pools busy (test)"); });
    const started = performance.now();
    await assert.rejects(createProcessor(alwaysBusy, { busyWaitMs: 300 })(job), (error: Error) => error instanceof PoolsBusyError && !(error instanceof UnrecoverableError));
    assert.ok(performance.now() - started < 5000);
  });

  it("each job runs under its deadline: jobTimeoutMs of its limits, or the worker's fixed one", async () => {
    const seen: (number | undefined)[] = [];
    const recording = runnerAnswering((async (_job: unknown, options: { timeoutMs?: number }) => { seen.push(options.timeoutMs); return guestFailure; }) as never);
    await createProcessor(recording)({ data: { code: "1", limits: { timeoutMs: 100 } } } as Job);
    await createProcessor(recording, { jobTimeoutMs: 30 })(job);
    assert.deepEqual(seen, [jobTimeoutMs({ ...limits, timeoutMs: 100 }), 30]);
  });
});

describe("rexec worker processes sharing one queue", () => {
  const QUEUE = "shared";
  let queue: Queue;
  let workers: CliProcess[] = [];
  const pidOf = (job: Job): number => Number(/:(\d+)$/.exec(job.processedBy ?? "")?.[1]);
  before(async () => {
    queue = new Queue(QUEUE, { connection: { url: redis.url, maxRetriesPerRequest: null } });
    const args = ["worker", "--queue", redis.url, "--queue-name", QUEUE, "--threads", "1", "--timeout", "3s", "--memory", "32m", "--max-output", "64k", "--lock-duration", "1s", "--stalled-interval", "500ms", "--metrics-port", "0"];
    workers = await Promise.all([0, 1, 2].map(() => startCli(args, /^rexec worker: consuming queue "shared"/)));
  });
  after(async () => {
    await Promise.all(workers.map((w) => stopChild(w.child)));
    await queue?.close();
  });

  it("a worker killed (SIGKILL) mid-job: its job is finished by another worker", async () => {
    const added = await queue.add("run", { code: busy(1500, "'done'") }, { attempts: 1 });
    const active = await until("the job to start", async () => {
      const job = await queue.getJob(added.id!);
      return job?.processedBy && (await job.getState()) === "active" ? job : undefined;
    });
    const victim = workers.find((w) => w.child.pid === pidOf(active));
    assert.ok(victim, `the job runs in one of our workers (${active.processedBy})`);
    victim.child.kill("SIGKILL");
    assert.equal((await victim.exited).signal, "SIGKILL");
    workers = workers.filter((w) => w !== victim);
    const job = await settled(queue, added.id!, 20_000);
    assert.equal(await job.getState(), "completed");
    assert.equal(job.returnvalue.value, "done");
    assert.notEqual(pidOf(job), victim.child.pid);
    assert.ok(workers.some((w) => w.child.pid === pidOf(job)));
  });

  it("a flood of jobs: every one completes once with its own answer, spread over the workers", async () => {
    const N = 300;
    const added = await queue.addBulk(Array.from({ length: N }, (_, i) => ({ name: "run", data: { code: "input.i * 2", input: { i } }, opts: { attempts: 2 } })));
    await until("the flood to finish", async () => {
      const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized");
      return Object.values(counts).every((n) => n === 0) ? true : undefined;
    }, 30_000, 100);
    const pids = new Set<number>();
    for (const [i, item] of added.entries()) {
      const job = (await queue.getJob(item.id!))!;
      assert.equal(await job.getState(), "completed", `job ${i}`);
      assert.equal(job.returnvalue.value, i * 2);
      assert.equal(job.attemptsStarted, 1);
      pids.add(pidOf(job));
    }
    assert.equal(pids.size, workers.length, "both remaining workers took jobs");
    // Each worker's own probes and metrics: together they counted the recovered job and the flood.
    let values = 0;
    for (const w of workers) {
      const base = /probes and metrics on (http:\/\/\S+)/.exec(w.stdout())![1]!;
      assert.equal((await fetch(`${base}/health`)).status, 200);
      assert.equal((await fetch(`${base}/ready`)).status, 200);
      const text = await (await fetch(`${base}/metrics`)).text();
      values += Number(/^rexec_runs_total\{outcome="value"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    }
    assert.equal(values, N + 1);
  });

  it("hostile jobs crash no worker and are not retried", async () => {
    const data: unknown[] = [
      { code: "for (;;) {}" },
      { code: "const a = []; for (;;) a.push(new Float64Array(1e6))" },
      { code: "for (;;) console.log('z'.repeat(10000))" },
      { code: "process.exit(9)" },
      { code: "function f() { return f() } f()" },
      { code: "'x'.repeat(9e6)" },
      { code: "const o = {}; o.o = o; o" },
      { code: 12 },
      "not an object",
    ];
    const added = await Promise.all(data.map((d) => queue.add("run", d, { attempts: 3, backoff: { type: "fixed", delay: 10 } })));
    for (const [i, item] of added.entries()) {
      const job = await settled(queue, item.id!);
      assert.equal(job.attemptsStarted, 1, JSON.stringify(data[i]));
      if (i < 7) assert.ok(job.returnvalue?.error?.name, JSON.stringify(data[i]));
      else assert.equal(await job.getState(), "failed");
    }
    for (const w of workers) assert.equal(w.child.exitCode, null, "the worker process is alive");
    const ok = await settled(queue, (await queue.add("run", { code: "6 * 7" })).id!);
    assert.equal(ok.returnvalue.value, 42);
  });

  it("SIGTERM: the worker finishes its running job, then exits 0", async () => {
    const [target, other] = workers;
    // Only the target takes the next job: the other stops taking jobs first.
    other!.child.kill("SIGTERM");
    assert.equal((await other!.exited).code, 0);
    const added = await queue.add("run", { code: busy(800, "'finished'") });
    await until("the job to start", async () => ((await (await queue.getJob(added.id!))?.getState()) === "active" ? true : undefined));
    target!.child.kill("SIGTERM");
    assert.equal((await target!.exited).code, 0);
    const job = (await queue.getJob(added.id!))!;
    assert.equal(await job.getState(), "completed");
    assert.equal(job.returnvalue.value, "finished");
    assert.equal(pidOf(job), target!.child.pid);
  });
});
