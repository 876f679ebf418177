// Worker threads (worker mode and the pool) use the wasm module the host
// compiled, instead of compiling their own: compilations anywhere in the
// process are announced on a debug channel, and only the main thread's may
// appear.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BroadcastChannel, threadId } from "node:worker_threads";
import { COMPILE_CHANNEL, compiledModule, ENGINE_VARIANT } from "../../src/engine/wasm-variant.ts";
import { RExec } from "../../src/index.ts";
import { RExecPool } from "../../src/pool/index.ts";

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
