/**
 * `rexec serve`: the HTTP service (src/service/http-server.ts) from the
 * command line. Loaded by main.ts only for this command, so other commands
 * never load fastify.
 *
 * @packageDocumentation
 */
import { createServer } from "../service/http-server.js";
import { parseDuration, parseSize, UsageError } from "./options.js";
import { COMMON_HELP, COMMON_OPTIONS, failure, parseCount, parseFlags, runnerFromFlags, shutdownTimeout, untilSignal } from "./service-flags.js";

export const SERVE_HELP = `rexec serve — run guest jobs over HTTP

Usage: rexec serve [--host <addr>] [--port <n>] [flags]

  POST /run   {"code": "...", "input": <json>?, "limits": {...}?, "filename": "..."?, "language": "js"|"ts"?}
              200 {"value", "stdout", "stderr", "stats"}  |  422 {"error": {"name", "message", ...}, "stdout", "stderr", "stats"}
              400 bad job or limits above the server's, 401 bad token, 413 body too large,
              429 queue full / 503 shutting down (both with Retry-After), 500 service failure
  GET /health  liveness     GET /ready  readiness (503 while starting or shutting down)
  GET /metrics Prometheus metrics

Meant to sit behind your gateway (TLS, authentication, rate limits): it has no users of its own.

Server:
  --host <addr>            address to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --port <n>               port (default 8080; 0 picks a free one)
  --token <secret>         require "Authorization: Bearer <secret>" on /run and /metrics
                           (default: the REXEC_TOKEN environment variable; prefer it: flags show in ps)
  --body-limit <size>      largest request body (default 1m)
  --request-timeout <duration>  time a client has to send its whole request (default 30s; then 408)
  --log                    log requests (JSON lines on stdout)

${COMMON_HELP}
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  host: { type: "string" },
  port: { type: "string" },
  token: { type: "string" },
  "body-limit": { type: "string" },
  "request-timeout": { type: "string" },
  log: { type: "boolean" },
} as const;

/**
 * The warning printed when the server listens beyond this machine without a
 * token: anyone who reaches the port can run code (within the limits). Not an
 * error — behind a gateway that is the intended set-up — but never silent.
 */
export function exposureWarning(host: string, hasToken: boolean): string | undefined {
  if (hasToken) return undefined;
  const loopback = host === "localhost" || host === "::1" || host === "[::1]" || /^127\./.test(host);
  if (loopback) return undefined;
  return `rexec serve: warning: listening on ${host.slice(0, 100)} without a bearer token: anyone who can reach this port can run code here; keep it behind your gateway, or set REXEC_TOKEN\n`;
}

/** `rexec serve [flags]`; resolves to the exit code once the server has shut down. */
export async function main(args: string[]): Promise<number> {
  let server;
  let timeoutMs: number;
  try {
    const { values, positionals } = parseFlags(args, OPTIONS);
    if (values.help) {
      process.stdout.write(SERVE_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`rexec serve takes no arguments (got "${positionals[0]}")`);
    const port = values.port === undefined ? 8080 : parseCount(values.port, "--port", 0)!;
    if (port > 65535) throw new UsageError(`--port: ${port} is not a port (0-65535)`);
    const token = values.token ?? process.env.REXEC_TOKEN;
    if (token !== undefined && token.length === 0) throw new UsageError("--token / REXEC_TOKEN is empty");
    timeoutMs = shutdownTimeout(values);
    server = createServer({
      ...runnerFromFlags(values),
      ...(token === undefined ? {} : { token }),
      ...(values["body-limit"] === undefined ? {} : { bodyLimit: parseSize(values["body-limit"], "--body-limit") }),
      ...(values["request-timeout"] === undefined ? {} : { requestTimeoutMs: parseDuration(values["request-timeout"], "--request-timeout") }),
      shutdownTimeoutMs: timeoutMs,
      logger: values.log ?? false,
    });
    const host = values.host ?? "127.0.0.1";
    const url = await server.listen({ host, port }).catch((error: NodeJS.ErrnoException) => {
      // An address this machine does not have is the flag's fault (exit 2); a port in use is not.
      const message = `cannot listen on ${JSON.stringify(host.slice(0, 100))} port ${port}: ${error.message}`;
      throw error.code === "ENOTFOUND" || error.code === "EADDRNOTAVAIL" || error.code === "EAI_AGAIN" ? new UsageError(`--host: ${message}`) : new Error(message);
    });
    process.stdout.write(`rexec serve: listening on ${url}${token === undefined ? "" : " (bearer token required)"}\n`);
    const warning = exposureWarning(host, token !== undefined);
    if (warning !== undefined) process.stderr.write(warning);
  } catch (error) {
    await server?.close({ timeoutMs: 0 });
    return failure("serve", error);
  }
  const running = server;
  return untilSignal("serve", () => running.close({ timeoutMs }));
}
