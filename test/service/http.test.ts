// The HTTP service (rexec/service createServer): real HTTP requests against a
// listening server — answers, guest failures, hostile jobs, limits that only
// tighten, malformed requests, 429 on a full queue, the bearer token, health,
// readiness, metrics, and graceful shutdown.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createServer, type RExecServer } from "../../src/service/index.ts";
import { post, until } from "./helpers.ts";

const MB = 1024 * 1024;
/** Busy for `ms` of wall time (guest CPU). */
const busy = (ms: number, value = 1): string => `{ const t = Date.now(); while (Date.now() - t < ${ms}) {} } ${value}`;

describe("rexec serve (library): POST /run", () => {
  let server: RExecServer;
  let url: string;
  before(async () => {
    server = createServer({ concurrency: 2, queueLimit: 8, limits: { timeoutMs: 1000, memoryBytes: 32 * MB, outputBytes: 64 * 1024 }, bodyLimit: 64 * 1024 });
    url = await server.listen({ host: "127.0.0.1", port: 0 });
  });
  after(() => server.close({ timeoutMs: 0 }));

  it("answers 200 { value, stdout, stderr, stats } with the job's input", async () => {
    const { status, json } = await post(`${url}/run`, { code: "console.log('hi', input.a); console.error('warn'); input.a * 2", input: { a: 21 } });
    assert.equal(status, 200);
    assert.equal(json.value, 42);
    assert.equal(json.stdout, "hi 21\n");
    assert.equal(json.stderr, "warn\n");
    for (const key of ["cpuMs", "wallMs", "peakMemoryBytes", "queuedMs"]) assert.equal(typeof json.stats[key], "number", key);
  });

  it("sends values JSON cannot hold as JSON (undefined → null, bigint → string, Map → entries, __proto__ stays a key)", async () => {
    assert.deepEqual((await post(`${url}/run`, { code: "undefined" })).json.value, null);
    const { json } = await post(`${url}/run`, { code: "({ n: 2n ** 70n, m: new Map([[1, 'a']]), s: new Set([1]), d: new Date(0), u: undefined, f() {}, ['__proto__']: { x: 1 } })" });
    assert.deepEqual(Object.keys(json.value).sort(), ["__proto__", "d", "m", "n", "s"]);
    assert.equal(json.value.n, (2n ** 70n).toString());
    assert.deepEqual(json.value.m, [[1, "a"]]);
    assert.deepEqual(json.value.s, [1]);
    assert.equal(json.value.d, "1970-01-01T00:00:00.000Z");
    assert.deepEqual(Object.getOwnPropertyDescriptor(json.value, "__proto__")?.value, { x: 1 });
  });

  it("answers 422 { error } for a guest that threw, with what it wrote before", async () => {
    const { status, json } = await post(`${url}/run`, { code: "console.log('before'); throw new TypeError('bad input')" });
    assert.equal(status, 422);
    assert.equal(json.error.name, "GuestError");
    assert.equal(json.error.guestName, "TypeError");
    assert.equal(json.error.message, "bad input");
    assert.match(json.error.stack, /<eval>:1/);
    assert.equal(json.stdout, "before\n");
    assert.equal(typeof json.stats.cpuMs, "number");
  });

  it("answers 422 SystemExit with the guest's exit code", async () => {
    const { status, json } = await post(`${url}/run`, { code: "process.exit(7)" });
    assert.equal(status, 422);
    assert.equal(json.error.name, "SystemExit");
    assert.equal(json.error.code, 7);
  });

  it("hostile jobs (infinite loop, memory bomb, deep recursion, huge output, huge or cyclic result) answer 422 and the server goes on", async () => {
    const cases: [string, string, string?][] = [
      ["for (;;) {}", "TimeoutError", "timeoutMs"],
      ["const a = []; for (;;) a.push(new Float64Array(1e6))", "MemoryLimitError", "memoryBytes"],
      ["function f() { return f() + 1 } f()", "StackLimitError", "stackBytes"],
      ["for (;;) console.log('x'.repeat(1000))", "OutputLimitError", "outputBytes"],
      ["'x'.repeat(9e6)", "MemoryLimitError", "resultBytes"],
      ["const o = {}; o.o = o; o", "CloneError"],
      ["new Promise(() => {})", "GuestError"],
    ];
    const answers = await Promise.all(cases.map(([code]) => post(`${url}/run`, { code })));
    answers.forEach(({ status, json }, i) => {
      const [code, name, limit] = cases[i]!;
      assert.equal(status, 422, code);
      assert.equal(json.error.name, name, code);
      if (limit) assert.equal(json.error.limit, limit, code);
    });
    // Output is bounded by outputBytes even when the guest floods it.
    assert.ok(answers[3]!.json.stdout.length <= 64 * 1024);
    const { status, json } = await post(`${url}/run`, { code: "1 + 1" });
    assert.equal(status, 200);
    assert.equal(json.value, 2);
  });

  it("guests get no file system, network, environment or host modules (RestrictedError and friends, 422)", async () => {
    const cases: [string, string][] = [
      ["require('fs').readFileSync('/etc/passwd', 'utf8')", "RestrictedError"],
      ["require('fs').writeFileSync('/tmp/rexec-service-test', 'x')", "RestrictedError"],
      ["import('child_process')", "RestrictedError"],
      ["await fetch('http://127.0.0.1:1/')", "GuestError"],
    ];
    for (const [code, name] of cases) {
      const { status, json } = await post(`${url}/run`, { code });
      assert.equal(status, 422, code);
      assert.equal(json.error.name, name, code);
    }
    assert.deepEqual((await post(`${url}/run`, { code: "({ ...process.env })" })).json.value, {});
  });

  it("a client that hangs up has its run stopped (counted as AbortError, not run to its time limit)", async () => {
    const gone = new AbortController();
    const request = fetch(`${url}/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "for (;;) {}" }), signal: gone.signal });
    await until("the run to start", async () => (server.runner.running > 0 ? true : undefined), 5000, 10);
    gone.abort();
    await assert.rejects(request);
    await until("the run to end", async () => (server.runner.running === 0 ? true : undefined), 5000, 10);
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(text, /^rexec_run_errors_total\{type="AbortError"\} 1$/m);
  });

  it("a job may bring module files: its code imports and requires them; they are that job's alone; bad ones are 400", async () => {
    const files = { "lib/tax.js": "export const rate = 0.2; export const gross = (n) => n * (1 + rate);", "fmt.cjs": "module.exports = (n) => n.toFixed(2);" };
    const { status, json } = await post(`${url}/run`, { code: "const fmt = require('./fmt.cjs'); const { gross } = await import('./lib/tax.js'); fmt(gross(input))", input: 100, files });
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.value, "120.00");
    const after = await post(`${url}/run`, { code: "require('./fmt.cjs')" });
    assert.equal(after.status, 422);
    for (const [bad, pattern] of [[5, /"files" must be an object/], [{ "a.js": 1 }, /content of "a\.js" must be a string/], [{ "a.js": "x".repeat(70 * 1024) }, /./], [{ "a\u0000.js": "1" }, /"files": .*NUL/], [{ "../../x.js": "1" }, /"files": .*outside the tree/]] as [unknown, RegExp][]) {
      const r = await post(`${url}/run`, { code: "1", files: bad });
      assert.ok(r.status === 400 || r.status === 413, `${r.status} ${JSON.stringify(r.json)}`); // a bad job is the client's: never a 500 (nor a retry)
      assert.match(r.json.error.message, pattern);
    }
  });

  it("a job's modules can only narrow the server's builtin modules", async () => {
    const narrowed = await post(`${url}/run`, { code: "require('path').join('a', 'b')", modules: ["util"] });
    assert.equal(narrowed.status, 422);
    assert.equal(narrowed.json.error.name, "RestrictedError");
    assert.match(narrowed.json.error.message, /builtin module "path"/);
    assert.equal((await post(`${url}/run`, { code: "require('util').format('%d', 7)", modules: ["util"] })).json.value, "7");
    assert.equal((await post(`${url}/run`, { code: "require('path').join('a', 'b')" })).json.value, "a/b");
    for (const [modules, pattern] of [[["child_process"], /module "child_process" is not allowed/], ["path", /must be an array/], [[1], /module names/]] as [unknown, RegExp][]) {
      const { status, json } = await post(`${url}/run`, { code: "1", modules });
      assert.equal(status, 400);
      assert.match(json.error.message, pattern);
    }
  });

  it("a job's limits can only tighten the server's: lower ones are enforced, higher ones are refused with 400", async () => {
    // One set of lower limits (one pool), each hit by the job that exceeds it.
    const lower = { timeoutMs: 50, outputBytes: 10, memoryBytes: 4 * MB };
    const [time, output, memory] = await Promise.all([
      post(`${url}/run`, { code: "for (;;) {}", limits: lower }),
      post(`${url}/run`, { code: "console.log('x'.repeat(100))", limits: lower }),
      post(`${url}/run`, { code: "const a = []; for (;;) a.push(new Float64Array(1e5))", limits: lower }),
    ]);
    assert.equal(time.status, 422);
    assert.equal(time.json.error.name, "TimeoutError");
    assert.equal(time.json.error.limitValue, 50);
    assert.equal(output.json.error.name, "OutputLimitError");
    assert.equal(output.json.error.limitValue, 10);
    assert.equal(memory.json.error.name, "MemoryLimitError");
    assert.equal(memory.json.error.limitValue, 4 * MB);
    // The same code within the server's limits runs (the lower limit was what stopped it).
    assert.equal((await post(`${url}/run`, { code: "console.log('x'.repeat(100)); 1" })).status, 200);

    for (const [limits, pattern] of [
      [{ timeoutMs: 5000 }, /limits\.timeoutMs 5000 is above this server's maximum \(1000\)/],
      [{ memoryBytes: 64 * MB }, /limits\.memoryBytes .* above this server's maximum/],
      [{ outputBytes: 1e9 }, /limits\.outputBytes .* above/],
      [{ cpu: 1 }, /unknown limit "cpu"/],
      [{ timeoutMs: -1 }, /whole number/],
      [{ timeoutMs: 1.5 }, /whole number/],
      [{ timeoutMs: "10" }, /whole number/],
      [{ memoryBytes: 1000 }, /memoryBytes must be between/],
      [[1], /"limits" must be an object/],
    ] as [unknown, RegExp][]) {
      const { status, json } = await post(`${url}/run`, { code: "1", limits });
      assert.equal(status, 400, JSON.stringify(limits));
      assert.equal(json.error.name, "InvalidJobError");
      assert.match(json.error.message, pattern);
    }
  });

  it("malformed requests get 400 / 404 / 413 / 415 in the same { error } shape", async () => {
    const cases: [unknown, number, Record<string, string>?][] = [
      ["{not json", 400],
      ["[1, 2]", 400],
      ["null", 400],
      [{ code: 42 }, 400],
      [{}, 400],
      [{ code: "1", extra: true }, 400],
      [{ code: "1", language: "python" }, 400],
      [{ code: "1", filename: "x".repeat(300) }, 400],
      // A newline in the name would forge stack frames in every error of the job.
      [{ code: "throw new Error('x')", filename: "a.js\n    at forged (/etc/passwd:1:1)" }, 400],
      ["just text", 400, { "content-type": "text/plain" }],
      ["<a/>", 415, { "content-type": "application/xml" }],
      [{ code: "x".repeat(70 * 1024) }, 413],
    ];
    for (const [body, expected, headers] of cases) {
      const { status, json } = await post(`${url}/run`, body, headers);
      assert.equal(status, expected, JSON.stringify(body).slice(0, 40));
      assert.equal(typeof json.error.name, "string");
      assert.equal(typeof json.error.message, "string");
    }
    const missing = await fetch(`${url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.name, "NotFound");
  });

  it("GET /health, /ready and /metrics (runs, errors by type, latency, CPU, queue depth)", async () => {
    assert.deepEqual(await (await fetch(`${url}/health`)).json(), { status: "ok" });
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 200);
    assert.equal((await ready.json()).ready, true);
    const metrics = await fetch(`${url}/metrics`);
    assert.match(metrics.headers.get("content-type") ?? "", /text\/plain/);
    const text = await metrics.text();
    assert.match(text, /^rexec_runs_total\{outcome="value"\} [1-9]/m);
    assert.match(text, /^rexec_run_errors_total\{type="TimeoutError"\} [1-9]/m);
    assert.match(text, /^rexec_run_errors_total\{type="GuestError"\} [1-9]/m);
    assert.match(text, /^rexec_run_duration_seconds_bucket\{le="\+Inf",outcome="value"\} [1-9]/m);
    assert.match(text, /^rexec_guest_cpu_seconds_total [0-9.e-]+$/m);
    assert.match(text, /^rexec_queue_depth 0$/m);
    assert.match(text, /^rexec_requests_rejected_total\{reason="invalid"\} [1-9]/m);
    assert.match(text, /^rexec_process_cpu_seconds_total /m);
  });
});

describe("rexec serve (library): admission and the bearer token", () => {
  const TOKEN = "s3cret-token";
  let server: RExecServer;
  let url: string;
  const auth = { authorization: `Bearer ${TOKEN}` };
  before(async () => {
    server = createServer({ concurrency: 1, queueLimit: 1, token: TOKEN, limits: { timeoutMs: 2000 } });
    url = await server.listen({ host: "127.0.0.1", port: 0 });
  });
  after(() => server.close({ timeoutMs: 0 }));

  it("a full queue answers 429 with Retry-After; the admitted jobs finish", async () => {
    await post(`${url}/run`, { code: "0" }, auth);
    const answers = await Promise.all([0, 1, 2, 3].map(() => post(`${url}/run`, { code: busy(300, 5) }, auth)));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    for (const answer of answers) {
      if (answer.status === 429) {
        assert.equal(answer.headers.get("retry-after"), "1");
        assert.equal(answer.json.error.name, "QueueFullError");
      } else assert.equal(answer.json.value, 5);
    }
    const text = await (await fetch(`${url}/metrics`, { headers: auth })).text();
    assert.match(text, /^rexec_requests_rejected_total\{reason="queue_full"\} 2$/m);
  });

  it("/run and /metrics need the bearer token; /health and /ready do not", async () => {
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${"a".repeat(10_000)}` }]) {
      const { status, headers: got, json } = await post(`${url}/run`, { code: "1" }, headers);
      assert.equal(status, 401, JSON.stringify(headers).slice(0, 60));
      assert.match(got.get("www-authenticate") ?? "", /^Bearer/);
      assert.equal(json.error.name, "Unauthorized");
    }
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    // Only the probe routes themselves are open, not every path that starts like them.
    assert.equal((await fetch(`${url}/healthz`)).status, 401);
    assert.equal((await post(`${url}/run`, { code: "1" }, auth)).status, 200);
    assert.equal((await post(`${url}/run`, { code: "1" }, { authorization: `bearer  ${TOKEN} ` })).status, 200);
    assert.equal((await fetch(`${url}/health`)).status, 200);
    assert.equal((await fetch(`${url}/ready`)).status, 200);
    // Load balancers that probe with HEAD: open as well (only the probes).
    assert.equal((await fetch(`${url}/health`, { method: "HEAD" })).status, 200);
    assert.equal((await fetch(`${url}/ready`, { method: "HEAD" })).status, 200);
    assert.equal((await fetch(`${url}/metrics`, { method: "HEAD" })).status, 401);
  });
});

describe("rexec serve (library): graceful shutdown", () => {
  it("close() lets running and waiting jobs finish, then stops listening", async () => {
    const server = createServer({ concurrency: 1, queueLimit: 2 });
    const url = await server.listen({ host: "127.0.0.1", port: 0 });
    try {
      await post(`${url}/run`, { code: "0" });
      const running = post(`${url}/run`, { code: busy(400, 9) });
      const queued = post(`${url}/run`, { code: "10" });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closed = server.close({ timeoutMs: 10_000 });
      assert.equal((await running).status, 200);
      assert.equal((await running).json.value, 9);
      assert.equal((await queued).json.value, 10);
      await closed;
      await assert.rejects(fetch(`${url}/health`));
    } finally {
      await server.close({ timeoutMs: 0 });
    }
  });

  it("a job still running when the shutdown time is up is cancelled with 503", async () => {
    const server = createServer({ concurrency: 1, limits: { timeoutMs: 20_000 } });
    const url = await server.listen({ host: "127.0.0.1", port: 0 });
    await post(`${url}/run`, { code: "0" });
    const running = post(`${url}/run`, { code: "for (;;) {}" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const t0 = Date.now();
    await server.close({ timeoutMs: 200 });
    const { status, headers, json } = await running;
    assert.equal(status, 503);
    assert.equal(json.error.name, "ShuttingDownError");
    assert.equal(headers.get("retry-after"), "1");
    // Hang guard only: the 20 s guest did not hold the shutdown.
    assert.ok(Date.now() - t0 < 10_000);
  });
});
