// Worker threads (worker mode and the pool) use the wasm module the host
// compiled, instead of compiling their own, and the process warms the engine
// up once, not once per thread: compilations and warm-ups anywhere in the
// process are announced on debug channels that these tests count.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BroadcastChannel, threadId } from "node:worker_threads";
import { COMPILE_CHANNEL, compiledModule, ENGINE_VARIANT } from "../../src/engine/wasm-variant.ts";
import { RExec } from "../../src/index.ts";
import { RExecPool } from "../../src/pool/index.ts";
import { WARM_UP_CHANNEL } from "../../src/engine/warm-up.ts";

/** Collect what is announced on `name` while `body` runs (plus time for the last messages to arrive). */
async function announced(name: string, body: () => Promise<void>): Promise<{ variant: string; threadId: number }[]> {
  const seen: { variant: string; threadId: number }[] = [];
  const channel = new BroadcastChannel(name);
  channel.onmessage = (event) => seen.push((event as MessageEvent).data);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 300));
    return seen;
  } finally {
    channel.close();
  }
}

// First in this file: no engine has run in this process yet.
test("the engine is warmed up once per process, by the first thread that runs it", { timeout: 60_000 }, async () => {
  const warmUps = await announced(WARM_UP_CHANNEL, async () => {
    // Two threads start together: one warms up, the other waits for it.
    const pool = new RExecPool({ size: 2 });
    const runs = await Promise.all(Array.from({ length: 4 }, (_, i) => pool.run(`${i} * 2`)));
    assert.deepEqual(runs.map((r) => r.value), [0, 2, 4, 6]);
    await pool.close();
    const rx = new RExec({ worker: true }) as RExec;
    assert.equal(await rx.r_eval("1 + 1"), 2);
    rx.dispose();
    const local = new RExec();
    assert.equal(await local.r_eval("3 + 4"), 7);
    local.dispose();
  });
  assert.equal(warmUps.length, 1, `warm-ups: ${JSON.stringify(warmUps)}`);
  assert.notEqual(warmUps[0]!.threadId, threadId, "a pool thread, which ran an engine first, warms up");
});

test("worker mode and pool threads do not compile the wasm themselves", { timeout: 60_000 }, async () => {
  const seen: { variant: string; threadId: number }[] = [];
  const channel = new BroadcastChannel(COMPILE_CHANNEL);
  channel.onmessage = (event) => seen.push((event as MessageEvent).data);
  try {
    compiledModule(ENGINE_VARIANT);
    const rx = new RExec({ worker: true }) as RExec;
    assert.equal(await rx.r_eval("6 * 7"), 42);
    rx.dispose();
    const pool = new RExecPool({ size: 2 });
    const runs = await Promise.all(Array.from({ length: 4 }, (_, i) => pool.run(`${i} + 1`)));
    assert.deepEqual(runs.map((r) => r.value), [1, 2, 3, 4]);
    await pool.close();
    // The channel is asynchronous: give announcements from the threads time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const fromWorkers = seen.filter((m) => m.threadId !== threadId);
    assert.deepEqual(fromWorkers, [], `worker threads compiled the wasm: ${JSON.stringify(fromWorkers)}`);
  } finally {
    channel.close();
  }
});

test("the compile channel does report a compilation (the check above can fail)", { timeout: 60_000 }, async () => {
  const seen: unknown[] = [];
  const channel = new BroadcastChannel(COMPILE_CHANNEL);
  channel.onmessage = (event) => seen.push((event as MessageEvent).data);
  try {
    // The other build has not been compiled in this process yet.
    compiledModule(ENGINE_VARIANT === "quickjs-ng" ? "quickjs" : "quickjs-ng");
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(seen.length, 1);
  } finally {
    channel.close();
  }
});
