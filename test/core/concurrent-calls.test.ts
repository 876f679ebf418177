// Guest functions the host holds are independent calls — queued like any call —
// unless a host function calls them on behalf of the running call (then they
// run inside it, or the call would wait for itself). A staggered second call
// used to run "nested" inside the first and fail when the first ended.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RExec } from "../../src/index.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("staggered concurrent calls of a guest function both complete (in-thread)", async () => {
  using rx = new RExec({ limits: { timeoutMs: 1000 } });
  const f = (await rx.r_eval("async (x) => { await new Promise((r) => setTimeout(r, 20)); return x * 2 }")) as (x: number) => Promise<number>;
  const first = f(5);
  await sleep(5);
  const second = f(6);
  assert.deepEqual(await Promise.all([first, second]), [10, 12]);
  assert.deepEqual(await Promise.all([f(1), f(2), f(3)]), [2, 4, 6]);
});

test("a host function still calls guest callbacks inside the running call, also after its own awaits", async () => {
  let stored: ((x: number) => Promise<number>) | undefined;
  using rx = new RExec({
    limits: { timeoutMs: 1000 },
    globals: {
      now: (cb: (x: number) => Promise<number>) => cb(1),
      later: async (cb: (x: number) => Promise<number>) => {
        await sleep(5);
        return (await cb(2)) + (await cb(3));
      },
      keep: (cb: (x: number) => Promise<number>) => void (stored = cb),
    },
  });
  assert.equal(await rx.r_eval("(async () => await now((x) => x + 10))()"), 11);
  assert.equal(await rx.r_eval("later(async (x) => { await null; return x * 100 })"), 500);
  // A callback kept past its call is an independent call afterwards.
  await rx.r_exec("keep((x) => x * 7)");
  assert.equal(await stored!(6), 42);
});
