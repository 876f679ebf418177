/**
 * Worker mode: calls of guest functions made independently of each other are
 * queued like every call (a realm runs one at a time), whenever they arrive;
 * a guest function called by a host function on behalf of the running call
 * runs inside that call (queueing it would deadlock). See src/worker/link.ts
 * (HostCallScope) and worker-entry.ts.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { RExec } from "../../src/index.ts";

type Fn = (...args: unknown[]) => Promise<unknown>;

describe("worker mode: concurrent and nested guest-function calls", () => {
  let kept: Fn | undefined;
  const rx = new RExec({
    worker: true,
    limits: { timeoutMs: 2000, wallTimeMs: 10_000 },
    globals: {
      tick: () => new Promise((resolve) => setTimeout(resolve, 20)),
      // Async host function awaiting a guest callback later, after its own await.
      later: async (cb: Fn) => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return cb(5);
      },
      // Host function calling a guest function it kept from an earlier call.
      useKept: async (x: number) => (await kept!(x)) as number,
    },
  }) as unknown as Record<string, Fn> & { dispose(): void };
  after(() => rx.dispose());

  it("independent calls while another call of the same function is in flight", { timeout: 30_000 }, async () => {
    const f = (await rx.r_eval!("async (x) => { await tick(); return x * 2 }")) as Fn;
    const first = f(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(await Promise.all([first, f(2), f(3), rx.r_eval!("'method'"), f(4)]), [2, 4, 6, "method", 8]);
  });

  it("independent calls that each await a job, all at once", { timeout: 30_000 }, async () => {
    const g = (await rx.r_eval!("async (x) => { await null; return x * 2 }")) as Fn;
    assert.deepEqual(await Promise.all([g(1), g(2), g(3)]), [2, 4, 6]);
  });

  it("a guest function called by a host function on behalf of the running call runs inside it", { timeout: 30_000 }, async () => {
    kept = (await rx.r_eval!("async (x) => { await null; return x + 100 }")) as Fn;
    assert.equal(await rx.r_eval!("useKept(1)"), 101);
    assert.equal(await rx.r_eval!("later(async (x) => { await tick(); return x + 1 })"), 6);
    // …while an independent call arrives from outside during it.
    const f = (await rx.r_eval!("async (x) => { await tick(); return -x }")) as Fn;
    const outer = rx.r_eval!("later(async (x) => { await tick(); return x + 1 })");
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(await Promise.all([outer, f(9)]), [6, -9]);
  });
});
