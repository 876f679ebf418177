/**
 * `rexec worker --queue <redis-url>`: the BullMQ queue worker
 * (src/service/queue-worker.ts) from the command line. Loaded by main.ts only
 * for this command, so other commands never load BullMQ.
 *
 * @packageDocumentation
 */
import { ServiceMetrics } from "../service/metrics.js";
import { startMetricsServer, type MetricsServer } from "../service/metrics-server.js";
import { DEFAULT_QUEUE, redisUrlProblem, startWorker, type QueueWorker } from "../service/queue-worker.js";
import { parseDuration, parseSize, UsageError } from "./options.js";
import { COMMON_HELP, COMMON_OPTIONS, failure, parseCount, parseFlags, runnerFromFlags, shutdownTimeout, untilSignal } from "./service-flags.js";

export const WORKER_HELP = `rexec worker — run guest jobs from a BullMQ queue on Redis

Usage: rexec worker --queue <redis-url> [flags]

Job data is {"code": "...", "input"?, "limits"?, "filename"?, "language"?} (as POST /run of rexec serve);
the job's return value is {"value", "stdout", "stderr", "stats"} or {"error": {...}, "stdout", "stderr", "stats"}.
A guest's failure (throw, exit, limit, denial) is the job's final result and is never retried;
malformed job data fails the job without retry; only failures of the worker itself are retried
(up to the job's "attempts"). Start as many workers as you like, on any machines, on one queue;
a job whose worker dies is run by another (after --lock-duration + --stalled-interval).

Queue:
  --queue <redis-url>          redis://[user:password@]host:port[/db] or rediss://... (required)
  --queue-name <name>          queue name (default "${DEFAULT_QUEUE}")
  --prefix <prefix>            BullMQ key prefix (default "bull")
  --connect-timeout <duration> how long to wait for Redis at start before exiting 70 (default 30s);
                               once running, the worker reconnects to Redis by itself
  --lock-duration <duration>   job lock without renewal (default 30s)
  --stalled-interval <duration> how often to recover jobs of dead workers (default 30s)
  --max-stalled <n>            recoveries of one job before it fails (default 1)
  --job-timeout <duration>     deadline of one job from when it gets a thread (default: 2 x timeout + wall-time + 2s)
  --prefetch <n>               jobs taken beyond the threads, so Redis round trips overlap runs (default: threads)
  --fail-on-guest-error        fail the job (no retry) when the guest fails, instead of storing {"error"}
  --max-job-size <size>        largest job data, input included (default 1m); a larger job fails unrun

Probes:
  --metrics-port <n>           serve GET /health, /ready and /metrics (Prometheus) on this port (0: a free one)
  --metrics-host <addr>        ... on this address (default 127.0.0.1)

${COMMON_HELP}
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  queue: { type: "string" },
  "queue-name": { type: "string" },
  prefix: { type: "string" },
  "connect-timeout": { type: "string" },
  "lock-duration": { type: "string" },
  "stalled-interval": { type: "string" },
  "max-stalled": { type: "string" },
  "job-timeout": { type: "string" },
  prefetch: { type: "string" },
  "fail-on-guest-error": { type: "boolean" },
  "max-job-size": { type: "string" },
  "metrics-port": { type: "string" },
  "metrics-host": { type: "string" },
} as const;

/** The URL with its password hidden, for messages. */
function redact(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/i, "$1***@");
}

/** `rexec worker --queue <redis-url> [flags]`; resolves to the exit code once the worker has shut down. */
export async function main(args: string[]): Promise<number> {
  let worker: QueueWorker | undefined;
  let probes: MetricsServer | undefined;
  let timeoutMs: number;
  let queueUrl: string | undefined;
  try {
    const { values, positionals } = parseFlags(args, OPTIONS);
    queueUrl = values.queue;
    if (values.help) {
      process.stdout.write(WORKER_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`rexec worker takes no arguments (got "${positionals[0]}")`);
    if (values.queue === undefined) throw new UsageError("rexec worker needs --queue <redis-url>, e.g. --queue redis://127.0.0.1:6379");
    const problem = redisUrlProblem(values.queue);
    if (problem !== undefined) throw new UsageError(`--queue ${problem}, got "${redact(values.queue).slice(0, 100)}"`);
    timeoutMs = shutdownTimeout(values);
    const duration = (flag: "lock-duration" | "stalled-interval" | "job-timeout" | "connect-timeout"): number | undefined => (values[flag] === undefined ? undefined : parseDuration(values[flag], `--${flag}`));
    const lockDurationMs = duration("lock-duration");
    const stalledIntervalMs = duration("stalled-interval");
    const jobTimeoutMs = duration("job-timeout");
    const connectTimeoutMs = duration("connect-timeout");
    const maxStalledCount = parseCount(values["max-stalled"], "--max-stalled", 0);
    const prefetch = parseCount(values.prefetch, "--prefetch", 0);
    const metricsPort = parseCount(values["metrics-port"], "--metrics-port", 0);
    if (metricsPort !== undefined && metricsPort > 65535) throw new UsageError(`--metrics-port: ${metricsPort} is not a port (0-65535)`);
    const metrics = metricsPort === undefined ? undefined : new ServiceMetrics(() => worker?.runner);
    worker = await startWorker({
      ...(metrics === undefined ? {} : { onRun: (event) => metrics.observe(event) }),
      ...runnerFromFlags(values),
      connection: values.queue,
      ...(values["queue-name"] === undefined ? {} : { queue: values["queue-name"] }),
      ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
      ...(lockDurationMs === undefined ? {} : { lockDurationMs }),
      ...(stalledIntervalMs === undefined ? {} : { stalledIntervalMs }),
      ...(jobTimeoutMs === undefined ? {} : { jobTimeoutMs }),
      ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
      ...(maxStalledCount === undefined ? {} : { maxStalledCount }),
      ...(prefetch === undefined ? {} : { prefetch }),
      failOnGuestError: values["fail-on-guest-error"] ?? false,
      ...(values["max-job-size"] === undefined ? {} : { maxJobBytes: parseSize(values["max-job-size"], "--max-job-size") }),
      onError: (error) => process.stderr.write(`rexec worker: ${error.message}\n`),
    });
    if (metrics !== undefined) {
      const running = worker;
      probes = await startMetricsServer({ metrics, host: values["metrics-host"] ?? "127.0.0.1", port: metricsPort, ready: () => !running.runner.closing });
      process.stdout.write(`rexec worker: probes and metrics on ${probes.url} (/health /ready /metrics)\n`);
    }
    process.stdout.write(`rexec worker: consuming queue "${worker.queue}" at ${redact(values.queue)} with ${worker.runner.concurrency} threads\n`);
  } catch (error) {
    await worker?.close({ timeoutMs: 0 });
    await probes?.close();
    const where = queueUrl === undefined ? "" : ` at ${redact(queueUrl)}`;
    return failure("worker", error instanceof Error && error.message.startsWith("could not connect to Redis") ? new Error(error.message.replace("Redis", `Redis${where}`)) : error);
  }
  const running = worker;
  const endpoint = probes;
  return untilSignal("worker", async () => {
    await running.close({ timeoutMs });
    await endpoint?.close();
  });
}
