// The host side of the Python host-call exchange (src/python/host-exchange.ts), driven by a
// plain worker thread that asks as fast as it can: no Pyodide needed, so the host thread's
// own guarantees are tested on their own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { HostCallExchange } from "../../src/python/host-exchange.js";
import { HOST_CONTROL_BYTES } from "../../src/python/py-protocol.js";

const CLIENT = new URL("./exchange-client.ts", import.meta.url);
const reply = new TextEncoder().encode('{"value":1}');

function client(shared: SharedArrayBuffer, ms: number): Promise<number> {
  // Worker threads do not inherit the tsx loader: register it, then load the TypeScript client.
  const boot = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(CLIENT.href)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { shared, ms } });
  return new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

test("a worker asking without pause never starves the host thread's timers", async () => {
  const shared = new SharedArrayBuffer(HOST_CONTROL_BYTES + 1024);
  // A 200 ms watch after each answer: the client's next request (µs later) is always caught, so
  // only the hold limit gives the event loop a turn.
  const exchange = new HostCallExchange(shared, { spinMs: 200, holdMs: 1 });
  let answered = 0;
  // Counted only while the client asks (from the first answer to the last): the worker's start-up
  // leaves the event loop free, and those ticks would hide a starved loop.
  let askingSince: number | undefined;
  let ticks = 0;
  void exchange.serve({
    answer: async () => {
      answered++;
      askingSince ??= performance.now();
      return reply;
    },
    outputArrived: () => undefined,
    onFailure: (e) => assert.fail(String(e)),
  });
  const ticker = setInterval(() => {
    if (askingSince !== undefined) ticks++;
  }, 5);
  const calls = await client(shared, 600);
  const asking = performance.now() - askingSince!;
  clearInterval(ticker);
  exchange.stop();
  assert.equal(answered, calls);
  assert.ok(calls > 100, `${calls} calls`);
  // A third of the 5 ms ticks while it asked (measured ~100 of 160; with the hold limit removed: 0).
  assert.ok(ticks >= asking / 5 / 3, `${ticks} ticks in ${asking.toFixed(0)} ms of asking`);
});

test("a request waits for the output posted before it; a failure of the channel is reported, never thrown", async () => {
  const shared = new SharedArrayBuffer(HOST_CONTROL_BYTES + 1024);
  const control = new Int32Array(shared, 0, 4);
  const exchange = new HostCallExchange(shared);
  let release!: () => void;
  const outputs = new Promise<void>((resolve) => (release = resolve));
  const failures: unknown[] = [];
  let answered = 0;
  const serving = exchange.serve({
    answer: async () => {
      answered++;
      throw new Error("answer broke");
    },
    outputArrived: (count) => (count > 0 ? outputs : undefined),
    onFailure: (error) => failures.push(error),
  });
  // A request posted after 3 output messages: held until they arrive.
  Atomics.store(control, 1, 2);
  Atomics.store(control, 2, 3);
  Atomics.store(control, 0, 1);
  Atomics.notify(control, 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(answered, 0, "answered before the output arrived");
  release();
  await serving;
  assert.equal(answered, 1);
  assert.equal(failures.length, 1);
  assert.match(String(failures[0]), /answer broke/);
});

test("stop() wakes a sleeping exchange", async () => {
  const exchange = new HostCallExchange(new SharedArrayBuffer(HOST_CONTROL_BYTES + 16));
  const serving = exchange.serve({ answer: async () => reply, outputArrived: () => undefined, onFailure: () => {} });
  await new Promise((resolve) => setTimeout(resolve, 20));
  exchange.stop();
  await serving;
});
