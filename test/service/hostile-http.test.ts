// Hostile HTTP clients against rexec serve (library): slow senders cannot hold
// a connection past the request timeout.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { createServer, type RExecServer } from "../../src/service/index.ts";
import { bearerChecker } from "../../src/service/auth.ts";
import { until } from "./helpers.ts";

/** Open a raw connection, write `text`, and resolve with what the server sent and when it closed (ms). */
function rawUntilClosed(port: number, text: string, guardMs = 8000): Promise<{ data: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const guard = setTimeout(() => { socket.destroy(); reject(new Error(`the server held a slow client for ${guardMs} ms`)); }, guardMs);
    socket.setEncoding("utf8").on("data", (d: string) => (data += d));
    socket.on("error", () => {});
    socket.on("close", () => { clearTimeout(guard); resolve({ data, closedAfterMs: Date.now() - t0 }); });
    socket.write(text);
  });
}

describe("rexec serve: slow clients", () => {
  let server: RExecServer;
  let port: number;
  before(async () => {
    server = createServer({ concurrency: 1, requestTimeoutMs: 500, limits: { timeoutMs: 5000 } });
    port = Number(new URL(await server.listen({ host: "127.0.0.1", port: 0 })).port);
    await server.runner.warmUp();
  });
  after(() => server.close({ timeoutMs: 0 }));

  it("a body that never finishes arriving is cut off (408) after requestTimeoutMs, and so are unfinished headers", async () => {
    const [body, headers] = await Promise.all([
      rawUntilClosed(port, "POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"co"),
      rawUntilClosed(port, "POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: appl"),
    ]);
    assert.match(body.data, /^HTTP\/1\.1 408/);
    assert.match(headers.data, /^HTTP\/1\.1 408/);
  });

  it("a client that stops reading its (large) answer is cut off after requestTimeoutMs, not held with the answer in memory", async () => {
    // ~10 MB of JSON (stdout's control characters escape to 6 bytes each): more than the socket buffers take.
    const body = JSON.stringify({ code: "console.log('\\u0001'.repeat(1e6 - 10)); 'x'.repeat(3.9e6)" });
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.pause();
    socket.write(`POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const connections = (): Promise<number> => new Promise((resolve, reject) => server.app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
    try {
      await until("the server to drop the client that does not read", async () => ((await connections()) === 0 ? true : undefined), 10_000, 100);
    } finally {
      socket.destroy();
    }
  });

  it("the timeout is for receiving the request only: a run longer than it still answers", async () => {
    const response = await fetch(`http://127.0.0.1:${port}/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "{ const t = Date.now(); while (Date.now() - t < 1500) {} } 5" }) });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).value, 5);
  });
});

describe("rexec serve: hostile input", () => {
  let server: RExecServer;
  let url: string;
  before(async () => {
    server = createServer({ concurrency: 1 });
    url = await server.listen({ host: "127.0.0.1", port: 0 });
  });
  after(() => server.close({ timeoutMs: 0 }));

  const nested = async (depth: number): Promise<{ status: number; json: any }> => {
    const body = `{"code":"let n = 0, v = input; while (Array.isArray(v)) { v = v[0]; n++ } n","input":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const response = await fetch(`${url}/run`, { method: "POST", headers: { "content-type": "application/json" }, body });
    return { status: response.status, json: await response.json() };
  };

  it("input nested deeper than the worker boundary takes is the client's error (400 InvalidJobError), not the guest's (422 CloneError); at the bound it runs", async () => {
    const deep = await nested(2001);
    assert.equal(deep.status, 400);
    assert.equal(deep.json.error.name, "InvalidJobError");
    assert.match(deep.json.error.message, /"input" is nested deeper than 2000 levels/);
    const atBound = await nested(2000);
    assert.equal(atBound.status, 200);
    assert.equal(atBound.json.value, 2000);
  });
});

describe("rexec serve: the bearer token itself", () => {
  it("a token no header can carry (a trailing newline, spaces, control or non-ASCII characters, too long) is refused at start, not by 401 on every request", () => {
    for (const token of ["secret\n", "two words", "tab\tbed", "nul\u0000", "pässword", "x".repeat(5000)]) {
      assert.throws(() => bearerChecker(token), TypeError, JSON.stringify(token).slice(0, 20));
    }
    const check = bearerChecker("s3cr3t-._~+/=");
    assert.equal(check("Bearer s3cr3t-._~+/="), true);
    assert.equal(check("Bearer s3cr3t"), false);
  });
});

