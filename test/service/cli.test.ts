// `rexec serve` and `rexec worker` through the built CLI (bin/rexec.js → dist):
// a real server process answering real HTTP requests, its token from
// REXEC_TOKEN, graceful SIGTERM; usage errors; and `rexec eval` never
// loading fastify/BullMQ/prom-client.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { main as serveMain } from "../../src/cli/serve.ts";
import { main as workerMain } from "../../src/cli/worker.ts";
import { post, runCli, startCli } from "./helpers.ts";

/** Run a command's main with process.stdout/stderr captured. */
async function capture(run: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: "", stderr: "" };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((chunk: string) => { out.stdout += chunk; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => { out.stderr += chunk; return true; }) as typeof process.stderr.write;
  try {
    return { code: await run(), ...out };
  } finally {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
  }
}

const forbid = fileURLToPath(new URL("./fixtures/forbid-service-deps.mjs", import.meta.url));

describe("rexec serve (the CLI process)", () => {
  it("answers POST /run with the token from REXEC_TOKEN, and on SIGTERM finishes the running job and exits 0", async () => {
    const server = await startCli(["serve", "--host", "127.0.0.1", "--port", "0", "--threads", "1", "--timeout", "2s", "--max-output", "1k", "--allow-module", "path"], /listening on http:/, { env: { REXEC_TOKEN: "t0ken" } });
    try {
      const url = /listening on (http:\/\/\S+)/.exec(server.line)![1]!;
      assert.match(server.line, /bearer token required/);
      const auth = { authorization: "Bearer t0ken" };
      assert.equal((await post(`${url}/run`, { code: "1" })).status, 401);
      const ok = await post(`${url}/run`, { code: "console.log('out'); [input, 2]", input: "in" }, auth);
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json.value, ["in", 2]);
      assert.equal(ok.json.stdout, "out\n");
      // The server's limits from its flags: --max-output 1k is the most a job gets, and may not be raised.
      assert.equal((await post(`${url}/run`, { code: "console.log('x'.repeat(2000))" }, auth)).json.error.name, "OutputLimitError");
      assert.equal((await post(`${url}/run`, { code: "1", limits: { outputBytes: 4096 } }, auth)).status, 400);
      // --allow-module path: the only builtin module, and a job cannot add another.
      assert.equal((await post(`${url}/run`, { code: "require('path').basename('/a/b.js')" }, auth)).json.value, "b.js");
      assert.equal((await post(`${url}/run`, { code: "require('util')" }, auth)).json.error.name, "RestrictedError");
      assert.equal((await post(`${url}/run`, { code: "1", modules: ["util"] }, auth)).status, 400);
      const running = post(`${url}/run`, { code: "{ const t = Date.now(); while (Date.now() - t < 600) {} } 'finished'" }, auth);
      await new Promise((resolve) => setTimeout(resolve, 150));
      server.child.kill("SIGTERM");
      const answer = await running;
      assert.equal(answer.status, 200);
      assert.equal(answer.json.value, "finished");
      assert.equal((await server.exited).code, 0);
    } finally {
      server.child.kill("SIGKILL");
    }
  });

  it("help and usage errors (exit 2), in this process through the commands' main", async () => {
    const help = await capture(() => serveMain(["--help"]));
    assert.equal(help.code, 0);
    assert.match(help.stdout, /POST \/run/);
    assert.match(help.stdout, /behind your gateway/);
    const workerHelp = await capture(() => workerMain(["--help"]));
    assert.equal(workerHelp.code, 0);
    assert.match(workerHelp.stdout, /--queue <redis-url>/);
    const cases: [(args: string[]) => Promise<number>, string[], RegExp][] = [
      [workerMain, [], /needs --queue <redis-url>/],
      [workerMain, ["--queue", "http://127.0.0.1:6379"], /redis:\/\/ or rediss:\/\//],
      [workerMain, ["--queue", "redis://"], /--queue names no host/],
      [workerMain, ["--queue", "redis://:pw@[zz"], /--queue is not a valid URL/],
      [workerMain, ["--queue", "redis://127.0.0.1:99999"], /--queue is not a valid URL/],
      [workerMain, ["--queue", "redis://127.0.0.1:6379/abc"], /--queue has a database that is not a number/],
      [workerMain, ["--queue", "redis://127.0.0.1:1", "--metrics-port", "99999"], /--metrics-port: 99999 is not a port/],
      [serveMain, ["--port", "http"], /--port: "http" must be a whole number/],
      [serveMain, ["--bogus"], /Unknown option '--bogus'/],
      [serveMain, ["--timeout", "soon"], /--timeout: "soon" is not a duration/],
      [serveMain, ["extra"], /takes no arguments/],
      [serveMain, ["--allow-module", "child_process"], /--allow-module: unknown module "child_process"/],
      [serveMain, ["--port", "0", "--threads", "1", "--host", "999.1.1.1"], /--host: cannot listen on "999.1.1.1" port 0: .*ENOTFOUND/],
      [serveMain, ["--request-timeout", "soon"], /--request-timeout: "soon" is not a duration/],
      [workerMain, ["--queue", "redis://127.0.0.1:1", "--connect-timeout", "never"], /--connect-timeout: "never" is not a duration/],
    ];
    for (const [main, args, pattern] of cases) {
      const { code, stderr } = await capture(() => main(args));
      assert.equal(code, 2, args.join(" "));
      assert.match(stderr, pattern, args.join(" "));
    }
    // Unreachable Redis: the worker says so and exits 70 (no password in the message), not wait for ever.
    const unreachable = await capture(() => workerMain(["--queue", "redis://user:hunter2@127.0.0.1:1", "--threads", "1", "--connect-timeout", "300ms"]));
    assert.equal(unreachable.code, 70);
    assert.match(unreachable.stderr, /could not connect to Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1 within 300 ms \(connect ECONNREFUSED/);
    assert.doesNotMatch(unreachable.stderr, /hunter2/);
  });

  it("listening beyond loopback without a token warns (anyone reaching the port can run code); loopback or a token does not", async () => {
    const { exposureWarning } = await import("../../src/cli/serve.ts");
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "example.internal"]) assert.match(exposureWarning(host, false) ?? "", /without a bearer token: anyone who can reach this port can run code/, host);
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1"]) assert.equal(exposureWarning(host, false), undefined, host);
    assert.equal(exposureWarning("0.0.0.0", true), undefined);
  });

  it("rexec eval never loads fastify, BullMQ, prom-client or ioredis (serve does: the guard bites)", async () => {
    const evaluated = await runCli(["eval", "-p", "1 + 1"], { nodeArgs: ["--import", forbid] });
    assert.equal(evaluated.stderr, "");
    assert.equal(evaluated.stdout, "2\n");
    assert.equal(evaluated.code, 0);
    const served = await runCli(["serve", "--help"], { nodeArgs: ["--import", forbid] });
    assert.notEqual(served.code, 0);
    assert.match(served.stderr, /forbidden import of (fastify|prom-client|bullmq)/);
  });
});
