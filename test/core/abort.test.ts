// Per-call cancellation (issue 12): every r_*/s_* method accepts an AbortSignal; aborting stops
// the guest at its next poll and rejects with AbortError (cause: the signal's reason); the sandbox
// stays usable. In-thread, worker mode and the pool.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { AbortError, MemoryHooks, RExec, RExecError } from "../../src/index.js";
import { RExecPool } from "../../src/pool/index.js";

const files = { "/spin.js": "while (true) {}", "/wait.js": "setTimeout(() => {}, 60_000);", "/m.js": "exports.x = 1;" };

function isAbort(reason: unknown) {
  return (e: unknown) => {
    assert.ok(e instanceof AbortError, `expected AbortError, got ${String(e)}`);
    assert.ok(e instanceof RExecError);
    assert.equal(e.code, "ABORT_ERR");
    assert.match(e.message, /aborted/);
    assert.equal(e.cause, reason);
    return true;
  };
}

for (const worker of [false, true]) {
  describe(`per-call cancellation (${worker ? "worker" : "in-thread"})`, () => {
    it("an already-aborted signal rejects without running", async () => {
      using rx = new RExec({ hooks: new MemoryHooks({ files }), worker });
      const reason = new Error("no thanks");
      const signal = AbortSignal.abort(reason);
      await assert.rejects(rx.r_exec("globalThis.ran = true", { signal }), isAbort(reason));
      await assert.rejects(rx.r_eval("globalThis.ran = true", { signal }), isAbort(reason));
      await assert.rejects(rx.s_exec("globalThis.ran = true", { signal }), isAbort(reason));
      await assert.rejects(rx.r_execfile("m.js", { signal }), isAbort(reason));
      await assert.rejects(rx.r_import("./m.js", { signal }), isAbort(reason));
      assert.equal(await rx.r_eval("typeof ran"), "undefined");
    });

    it("aborting while the guest awaits a timer or a host call stops it promptly; the sandbox stays usable", async () => {
      let release: () => void = () => {};
      using rx = new RExec({ hooks: new MemoryHooks({ files }), worker, globals: { hang: () => new Promise<void>((r) => (release = r)) }, limits: { wallTimeMs: 120_000 } });
      const controller = new AbortController();
      const t0 = performance.now();
      const pending = rx.r_eval("await new Promise((r) => setTimeout(r, 60_000)); 'late'", { signal: controller.signal });
      setTimeout(() => controller.abort("stop"), 50);
      await assert.rejects(pending, isAbort("stop"));
      assert.ok(performance.now() - t0 < 20_000, "abort was not prompt");
      const second = new AbortController();
      const hung = rx.r_eval("await hang(); globalThis.after = true", { signal: second.signal });
      setTimeout(() => second.abort(), 50);
      await assert.rejects(hung, (e: unknown) => e instanceof AbortError && e.cause instanceof DOMException && e.cause.name === "AbortError");
      release();
      assert.equal(await rx.r_eval("1 + 1"), 2);
      assert.equal(rx.alive, true);
    });

    it("aborting an execfile that waits for its timers stops it", async () => {
      using rx = new RExec({ hooks: new MemoryHooks({ files }), worker, limits: { wallTimeMs: 120_000 } });
      const controller = new AbortController();
      const run = rx.s_execfile("wait.js", { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(run, AbortError);
      assert.equal(await rx.r_eval("'still here'"), "still here");
    });

    it("the guest never sees the reason; a hostile reason is never stringified", async () => {
      using rx = new RExec({ worker });
      const reason = { toString() { throw new Error("stringified!"); }, [Symbol.toPrimitive]() { throw new Error("stringified!"); } };
      await assert.rejects(rx.r_eval("1", { signal: AbortSignal.abort(reason) }), isAbort(reason));
    });

    it("a queued call aborted before it starts never runs", async () => {
      using rx = new RExec({ worker, limits: { wallTimeMs: 120_000 } });
      const first = rx.r_eval("await new Promise((r) => setTimeout(r, 200)); 1");
      const controller = new AbortController();
      const queued = rx.r_exec("globalThis.queuedRan = true", { signal: controller.signal });
      controller.abort();
      await assert.rejects(queued, AbortError);
      assert.equal(await first, 1);
      assert.equal(await rx.r_eval("typeof queuedRan"), "undefined");
    });

    it("bad signals are refused with a clear error", async () => {
      using rx = new RExec({ worker });
      await assert.rejects(rx.r_eval("1", { signal: {} as never }), /options\.signal must be an AbortSignal/);
    });
  });
}

describe("per-call cancellation of a spinning guest (worker: across the thread)", () => {
  it("stops a busy loop at the next poll; the worker and realm survive", async () => {
    using rx = new RExec({ worker: true, limits: { timeoutMs: 60_000 } });
    await rx.r_exec("globalThis.kept = 42");
    const controller = new AbortController();
    const t0 = performance.now();
    const spin = rx.r_eval("while (true) {}", { signal: controller.signal });
    setTimeout(() => controller.abort("enough"), 100);
    await assert.rejects(spin, isAbort("enough"));
    assert.ok(performance.now() - t0 < 20_000);
    assert.equal(await rx.r_eval("kept"), 42);
  });

  it("in-thread, a host function can abort the call it serves", async () => {
    const controller = new AbortController();
    using rx = new RExec({ globals: { stop: () => controller.abort("from host") }, limits: { timeoutMs: 60_000 } });
    await assert.rejects(rx.r_eval("stop(); while (true) {}", { signal: controller.signal }), isAbort("from host"));
    assert.equal(await rx.r_eval("2"), 2);
  });
});

describe("per-call cancellation (pool)", () => {
  const pool = new RExecPool({ size: 1, limits: { timeoutMs: 60_000 } });
  after(() => pool.close({ force: true }));
  it("the pool's AbortError is the same class, message and cause", async () => {
    const reason = new Error("cancel");
    await assert.rejects(pool.run("1", { signal: AbortSignal.abort(reason) }), isAbort(reason));
    const controller = new AbortController();
    const run = pool.run("while (true) {}", { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 100);
    await assert.rejects(run, isAbort(reason));
    assert.equal((await pool.run("3")).value, 3);
  });
});
