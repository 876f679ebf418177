/**
 * A small HTTP endpoint for a queue worker's probes and metrics: `GET /health`,
 * `GET /ready`, `GET /metrics` (Prometheus text). Plain `node:http` — a worker
 * has no other HTTP to serve. It answers nothing else and reads no request
 * body; like `rexec serve`, it is meant for the operator's network (it listens
 * on 127.0.0.1 unless told otherwise).
 *
 * @packageDocumentation
 */
import { createServer, type Server } from "node:http";
import type { ServiceMetrics } from "./metrics.js";

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serve `metrics` on `host:port` (port 0: a free one).
 *
 * @param ready - whether `/ready` answers 200 (else 503)
 */
export async function startMetricsServer(options: { metrics: ServiceMetrics; host?: string; port?: number; ready: () => boolean }): Promise<MetricsServer> {
  const { metrics, host = "127.0.0.1", port = 9464, ready } = options;
  const server: Server = createServer((request, response) => {
    const send = (status: number, type: string, body: string): void => {
      response.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
    };
    const path = (request.url ?? "").split("?")[0];
    if (request.method !== "GET") return send(405, "application/json", JSON.stringify({ error: { name: "MethodNotAllowed", message: "only GET" } }));
    if (path === "/health") return send(200, "application/json", JSON.stringify({ status: "ok" }));
    if (path === "/ready") {
      const ok = ready();
      return send(ok ? 200 : 503, "application/json", JSON.stringify({ ready: ok }));
    }
    if (path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => send(200, metrics.registry.contentType, text),
        () => send(500, "application/json", JSON.stringify({ error: { name: "ServiceError", message: "metrics could not be collected" } })),
      );
      return;
    }
    send(404, "application/json", JSON.stringify({ error: { name: "NotFound", message: "the routes are GET /health, /ready, /metrics" } }));
  });
  // Probes only: short timeouts, no kept-alive connections holding shutdown.
  server.keepAliveTimeout = 1000;
  server.headersTimeout = 5000;
  server.requestTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as { address: string; port: number };
  const shown = address.address.includes(":") ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
