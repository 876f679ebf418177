// rexec as a service: jobs per second through the BullMQ queue with 1 and 2
// `rexec worker` processes, requests per second through `rexec serve`, and the
// in-process RExecPool beside them — the same small job everywhere, so the
// rows show what each transport costs on top of a guest run.
// Needs redis-server on PATH (started here on a free port, no persistence) and
// a built dist/ (npm run bench builds it).
// Usage: node bench/service.mjs [jobs]   Prints a table on stderr and "RESULT <json>".
import { spawn } from "node:child_process";
import http from "node:http";
import { createServer } from "node:net";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const JOBS = Number(process.argv[2] ?? 600);
const bin = fileURLToPath(new URL("../bin/rexec.js", import.meta.url));
/** A small job: input in, a little work, a value out (about what a formula or rule costs). */
const JOB = "let s = 0; for (let i = 0; i < 1000; i++) s += i % (input.i + 1); s";
const THREADS = Math.min(2, os.availableParallelism());

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Start a child; resolve when a stdout line matches `ready`. */
function start(cmd, args, ready) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`${args.join(" ")}: not ready in 20 s: ${out}`)); }, 20_000);
    child.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => ready.test(l));
      if (line !== undefined) { clearTimeout(timer); resolve({ child, line }); }
    });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`${args.join(" ")} exited ${code}`)); });
  });
}

function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => { clearTimeout(t); resolve(); });
    child.kill("SIGTERM");
  });
}

async function waitForPort(port) {
  const { connect } = await import("node:net");
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => { const s = connect(port, "127.0.0.1"); s.once("connect", () => { s.destroy(); r(true); }); s.once("error", () => r(false)); });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("redis-server did not start");
}

/** The in-process pool: all jobs at once (bounded by a queue big enough for them). */
async function poolRate() {
  const { RExecPool } = await import("../dist/index.js");
  const pool = new RExecPool({ size: THREADS, queueLimit: JOBS });
  await Promise.all(Array.from({ length: THREADS * 2 }, (_, i) => pool.run(JOB, { input: { i } })));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: JOBS }, (_, i) => pool.run(JOB, { input: { i } })));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  return { jobs: JOBS, seconds, perSecond: JOBS / seconds };
}

/** Jobs through the queue with `processes` worker processes of one thread each. */
async function queueRate(redisUrl, processes, Queue) {
  const name = `bench-${processes}`;
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection });
  const workers = await Promise.all(Array.from({ length: processes }, () => start(process.execPath, [bin, "worker", "--queue", redisUrl, "--queue-name", name, "--threads", "1"], /consuming queue/)));
  try {
    const done = async (n) => {
      for (;;) {
        const c = await queue.getJobCounts("completed", "failed");
        if (c.completed + c.failed >= n) return c;
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    // Warm-up: each worker's thread runs a few jobs first.
    await queue.addBulk(Array.from({ length: processes * 4 }, (_, i) => ({ name: "run", data: { code: JOB, input: { i } } })));
    const warm = processes * 4;
    await done(warm);
    const t0 = performance.now();
    await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: "run", data: { code: JOB, input: { i } }, opts: { removeOnComplete: false } })));
    const counts = await done(warm + JOBS);
    const seconds = (performance.now() - t0) / 1000;
    if (counts.failed > 0) throw new Error(`${counts.failed} jobs failed`);
    return { processes, threadsPerProcess: 1, jobs: JOBS, seconds, perSecond: JOBS / seconds };
  } finally {
    await Promise.all(workers.map((w) => stop(w.child)));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

/** Requests through `rexec serve` (its pool of THREADS threads), 16 in flight at a time over keep-alive. */
async function serveRate() {
  const { child, line } = await start(process.execPath, [bin, "serve", "--port", "0", "--threads", String(THREADS), "--queue-limit", "64"], /listening on/);
  const url = /(http:\/\/\S+)/.exec(line)[1];
  try {
    // node:http with a keep-alive agent: fetch's own cost per request (undici) was most of the client's CPU,
    // which shares the cores with the server.
    const { hostname, port } = new URL(url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const one = (i) => new Promise((resolve, reject) => {
      const body = JSON.stringify({ code: JOB, input: { i } });
      const req = http.request({ host: hostname, port, path: "/run", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`status ${res.statusCode}: ${text}`))));
      });
      req.on("error", reject);
      req.end(body);
    });
    const run = async (n) => {
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => { while (next < n) await one(next++); }));
    };
    await run(THREADS * 8);
    const t0 = performance.now();
    await run(JOBS);
    const seconds = (performance.now() - t0) / 1000;
    agent.destroy();
    return { threads: THREADS, inFlight: 16, requests: JOBS, seconds, perSecond: JOBS / seconds };
  } finally {
    await stop(child);
  }
}

const out = { jobs: JOBS, job: JOB, cores: os.availableParallelism(), loadAvg1: os.loadavg()[0] };
let redis;
try {
  const port = await freePort();
  redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"], { stdio: "ignore" });
  await new Promise((resolve, reject) => { redis.once("spawn", resolve); redis.once("error", reject); });
  await waitForPort(port);
  const redisUrl = `redis://127.0.0.1:${port}`;
  const { Queue } = await import("bullmq");
  out.pool = await poolRate();
  out.queue1 = await queueRate(redisUrl, 1, Queue);
  out.queue2 = await queueRate(redisUrl, 2, Queue);
  out.serve = await serveRate();
  const row = (label, r) => `${label.padEnd(44)} ${r.perSecond.toFixed(0).padStart(7)} /s  (${r.seconds.toFixed(2)} s for ${JOBS})\n`;
  process.stderr.write(
    `\nservice throughput, ${JOBS} small jobs, ${out.cores} cores\n` +
    row(`in-process RExecPool (${THREADS} threads)`, out.pool) +
    row("queue: 1 worker process (1 thread)", out.queue1) +
    row("queue: 2 worker processes (1 thread each)", out.queue2) +
    row(`rexec serve (${THREADS} threads, 16 in flight)`, out.serve),
  );
} catch (error) {
  out.failed = String(error?.stack ?? error).split("\n").slice(0, 3).join(" | ");
} finally {
  if (redis) await stop(redis);
}
process.stdout.write("RESULT " + JSON.stringify(out) + "\n");
process.exit(0);
