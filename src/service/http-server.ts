/**
 * `rexec serve`: guest runs over HTTP (fastify).
 *
 * - `POST /run` `{ code, input?, limits?, filename?, language? }` → 200
 *   `{ value, stdout, stderr, stats }`, or 422 `{ error: { name, message, … },
 *   stdout, stderr, stats }` when the guest failed (threw, exited, hit a
 *   limit, was denied). Refusals have an `error` too: 400 malformed job or
 *   limits above the server's, 401 missing/wrong bearer token, 413 body over
 *   the limit, 415 not JSON, 429 queue full and 503 shutting down / pools busy
 *   (both with `Retry-After`), 500 the service failed (a pool thread died).
 * - `GET /health` (liveness), `GET /ready` (readiness: 503 until the threads
 *   are up and once shutdown began), `GET /metrics` (Prometheus text).
 *
 * Invariants: nothing of a request reaches a guest except `code` and `input`
 * (copied); a request can only lower the server's limits (job.ts); the server
 * holds at most `concurrency` running plus `queueLimit` waiting jobs and
 * refuses the rest at once (runner.ts). The server has no users or quotas of
 * its own — it is meant to sit behind the operator's gateway, which does
 * authentication, rate limiting and TLS; the optional bearer token is a
 * shared secret between that gateway and this service.
 *
 * @packageDocumentation
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import { AbortError } from "../host/errors.js";
import { bearerChecker } from "./auth.js";
import { InvalidJobError } from "./job.js";
import { ServiceMetrics } from "./metrics.js";
import { PoolsBusyError, QueueFullError, ServiceRunner, ShuttingDownError, type RunnerOptions } from "./runner.js";

/** Options of {@link createServer} and {@link serve}. */
export interface ServerOptions extends RunnerOptions {
  /**
   * Require `Authorization: Bearer <token>` on `/run` and `/metrics`
   * (compared in constant time). `/health` and `/ready` stay open for probes.
   */
  readonly token?: string;
  /** Largest request body in bytes (default 1 MiB); larger ones get 413. */
  readonly bodyLimit?: number;
  /**
   * Time a client has to send a whole request, headers and body (default
   * 30 000 ms); a slower one gets 408 and its connection is closed, so slow
   * senders (slowloris) cannot hold connections open. Likewise a client that
   * stops reading its answer for this long is disconnected.
   */
  readonly requestTimeoutMs?: number;
  /** How long {@link RExecServer.close} lets running jobs finish before cancelling them (default 10 000 ms). */
  readonly shutdownTimeoutMs?: number;
  /** fastify's request log (pino, JSON lines on stdout); default off. */
  readonly logger?: boolean;
  /** Also export the process's default metrics (CPU, memory, event loop); default true. */
  readonly defaultMetrics?: boolean;
}

/** A server made by {@link createServer}. */
export interface RExecServer {
  /** The fastify instance (add routes or hooks before `listen`). */
  readonly app: FastifyInstance;
  /** Runs the jobs. */
  readonly runner: ServiceRunner;
  readonly metrics: ServiceMetrics;
  /** Start listening; resolves to the base URL, e.g. `http://127.0.0.1:8080`. */
  listen(options: { host?: string; port?: number }): Promise<string>;
  /**
   * Graceful shutdown: `/ready` answers 503, no new connections, running and
   * waiting jobs finish for up to `timeoutMs` (default `shutdownTimeoutMs`),
   * the rest are cancelled (their requests get 503), then the threads exit.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

const RETRY_AFTER_SECONDS = "1";

/**
 * Make the server (not yet listening). Its threads start at once; `/ready`
 * says when they are up.
 *
 * ```ts
 * const server = createServer({ concurrency: 4, limits: { timeoutMs: 500 }, token: process.env.REXEC_TOKEN });
 * const url = await server.listen({ host: "127.0.0.1", port: 8080 });
 * process.once("SIGTERM", () => server.close());
 * ```
 */
export function createServer(options: ServerOptions = {}): RExecServer {
  const { token, bodyLimit = 1024 * 1024, requestTimeoutMs = 30_000, shutdownTimeoutMs = 10_000, logger = false, defaultMetrics, ...runnerOptions } = options;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1) throw new RangeError(`bodyLimit must be a positive number of bytes, got ${bodyLimit}`);
  if (!Number.isSafeInteger(requestTimeoutMs) || requestTimeoutMs < 1) throw new RangeError(`requestTimeoutMs must be a positive number of ms, got ${requestTimeoutMs}`);
  const authorized = token === undefined ? undefined : bearerChecker(token);
  let runner: ServiceRunner | undefined;
  const metrics = new ServiceMetrics(() => runner, { defaultMetrics });
  runner = new ServiceRunner({
    maxCodeBytes: bodyLimit,
    ...runnerOptions,
    onRun: (event) => {
      metrics.observe(event);
      runnerOptions.onRun?.(event);
    },
  });
  const jobs = runner;
  let ready = false;
  let closing: Promise<void> | undefined;
  jobs.warmUp().then(() => (ready = !jobs.closing), () => {});

  // fastify's default requestTimeout is 0 (none): a client trickling its body held a connection forever.
  // node checks the deadlines every connectionsCheckingInterval (default 30 s), so check more often.
  const app = Fastify({
    logger,
    bodyLimit,
    requestTimeout: requestTimeoutMs,
    http: { headersTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, requestTimeoutMs) },
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });

  const refuse = (reply: FastifyReply, status: number, name: string, message: string): FastifyReply => {
    if (status === 429 || status === 503) reply.header("retry-after", RETRY_AFTER_SECONDS);
    return reply.code(status).send({ error: { name, message } });
  };

  app.addHook("onRequest", async (request, reply) => {
    // The matched route, not the raw URL: "/health/../run" and the like are not probes.
    const route = request.routeOptions.url;
    // HEAD too: some load balancers probe with it (fastify answers HEAD on GET routes).
    if (authorized === undefined || ((request.method === "GET" || request.method === "HEAD") && (route === "/health" || route === "/ready"))) return;
    if (!authorized(request.headers.authorization)) {
      metrics.reject("unauthorized");
      reply.header("www-authenticate", 'Bearer realm="rexec"');
      return refuse(reply, 401, "Unauthorized", "this rexec service needs Authorization: Bearer <token>");
    }
  });

  app.addHook("onSend", async (_request, reply) => {
    // While shutting down, every answer ends its connection, so close() need not wait out keep-alive.
    if (closing !== undefined) reply.header("connection", "close");
    // A client must keep reading its answer: one that stalls for requestTimeoutMs is dropped
    // (node destroys a socket whose timeout nobody handles), instead of holding an answer of
    // up to resultBytes + outputBytes (JSON-escaped: several times that) in memory for ever.
    // node sets the socket's timeout to keepAliveTimeout once the answer is written.
    reply.raw.socket?.setTimeout(requestTimeoutMs);
  });

  app.post("/run", async (request, reply) => {
    // A client that hangs up no longer needs its run: stop it (or drop it from the queue).
    const gone = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) gone.abort(new Error("the client closed the connection"));
    });
    try {
      const result = await jobs.run(request.body, { signal: gone.signal });
      return reply.code("error" in result ? 422 : 200).send(result);
    } catch (error) {
      if (error instanceof InvalidJobError) {
        metrics.reject("invalid");
        return refuse(reply, 400, error.name, error.message);
      }
      if (error instanceof QueueFullError) {
        metrics.reject("queue_full");
        return refuse(reply, 429, error.name, error.message);
      }
      if (error instanceof PoolsBusyError) {
        metrics.reject("pools_busy");
        return refuse(reply, 503, error.name, error.message);
      }
      if (error instanceof ShuttingDownError) {
        metrics.reject("shutting_down");
        return refuse(reply, 503, error.name, error.message);
      }
      if (error instanceof AbortError && gone.signal.aborted) return refuse(reply, 499, "AbortError", "the client closed the connection");
      request.log.error({ err: error }, "run failed in the service");
      return refuse(reply, 500, "ServiceError", `the service failed to run the job: ${error instanceof Error ? error.message : "unknown error"}`);
    }
  });

  app.get("/health", async () => ({ status: "ok" }));

  app.get("/ready", async (_request, reply) => {
    const body = { ready: ready && closing === undefined, running: jobs.running, queued: jobs.queued, concurrency: jobs.concurrency, queueLimit: jobs.queueLimit };
    return reply.code(body.ready ? 200 : 503).send(body);
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header("content-type", metrics.registry.contentType).send(text);
  });

  app.setNotFoundHandler((request, reply) => refuse(reply, 404, "NotFound", `no route ${request.method} ${request.url.slice(0, 200)}; the routes are POST /run, GET /health, GET /ready, GET /metrics`));

  // fastify's own refusals (body too large, not JSON, bad JSON) in the same { error } shape.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = typeof error.statusCode === "number" && error.statusCode >= 400 ? error.statusCode : 500;
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") metrics.reject("body_too_large");
    else if (status === 400) metrics.reject("invalid");
    return refuse(reply, status, status === 413 ? "PayloadTooLarge" : status === 415 ? "UnsupportedMediaType" : status < 500 ? "BadRequest" : "ServiceError", error.message);
  });

  return {
    app,
    runner: jobs,
    metrics,
    async listen({ host = "127.0.0.1", port = 8080 }) {
      return app.listen({ host, port });
    },
    close({ timeoutMs = shutdownTimeoutMs } = {}) {
      closing ??= (async () => {
        ready = false;
        // Stops accepting, answers 503 on kept-alive connections, waits for the requests in flight.
        const closed = app.close();
        await jobs.close({ timeoutMs });
        // Answers sent from now on carry Connection: close (onSend above); kept-alive idle
        // connections would otherwise hold close() for fastify's keepAliveTimeout (72 s).
        app.server.closeIdleConnections();
        const last = setTimeout(() => app.server.closeAllConnections(), 1000);
        try {
          await closed;
        } finally {
          clearTimeout(last);
        }
      })();
      return closing;
    },
  };
}

/**
 * Create a server and listen (`rexec serve`'s library form). Resolves once
 * it listens; `url` is where.
 */
export async function serve(options: ServerOptions & { host?: string; port?: number } = {}): Promise<RExecServer & { url: string }> {
  const { host, port, ...rest } = options;
  const server = createServer(rest);
  try {
    const url = await server.listen({ host, port });
    return Object.assign(server, { url });
  } catch (error) {
    await server.close({ timeoutMs: 0 });
    throw error;
  }
}
