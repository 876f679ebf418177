/**
 * Unhandled guest rejections fail the call, as an unhandled rejection fails a
 * Node script: `r_execfile`, `r_exec` and `r_eval` reject with a `GuestError`
 * for the first reason still unhandled when the call's jobs are drained. A
 * rejection handled before the call ends, or consumed by rexec itself (the
 * call's own result, a module's evaluation, a guest callback the host awaits),
 * does not count. Both engines, in-thread and in worker mode.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GuestError, MemoryHooks, RExec, StackLimitError, SystemExit } from "../../src/index.js";
import type { EngineVariantName } from "../../src/engine/wasm-variant.js";

const ENGINES: readonly EngineVariantName[] = ["quickjs-ng", "quickjs"];

const FILES = {
  "/main.js": 'async function main() {\n  await null;\n  throw new Error("x");\n}\nmain();\n',
  "/top.js": "Promise.reject(new TypeError('top'));\n",
  "/handled-later.js": "const p = Promise.reject(new Error('late'));\nsetTimeout(() => p.catch(() => {}), 5);\n",
  "/caught.js": "(async () => { try { await Promise.reject(new Error('c')); } catch {} })();\nPromise.reject(1).catch(() => {});\n",
  "/second.js": "(async () => { await null; throw new Error('first'); })();\n(async () => { await null; await null; throw new Error('second'); })();\n",
  "/throws.mjs": "export const a = 1;\nthrow new Error('module body');\n",
  "/imports-throwing.mjs": "import './throws.mjs';\n",
  "/dynamic.mjs": "await import('./throws.mjs').catch(() => {});\nexport const ok = 1;\n",
  "/tla.mjs": "await null;\nthrow new Error('tla');\n",
  "/exits.js": "Promise.reject(new Error('ignored'));\nprocess.exit(3);\n",
};

function isGuestError(message: string, name = "Error") {
  return (e: unknown): boolean => {
    assert.ok(e instanceof GuestError, `expected a GuestError, got ${String(e)}`);
    assert.equal(e.guestName, name);
    assert.equal(e.message, message);
    return true;
  };
}

for (const engine of ENGINES) {
  test(`${engine}: r_execfile of an async main that throws after an await rejects with that error, at its position`, async () => {
    using rx = new RExec({ engine, hooks: new MemoryHooks({ files: FILES }) });
    await assert.rejects(rx.r_execfile("/main.js"), (e: unknown) => {
      isGuestError("x")(e);
      assert.ok((e as GuestError).frames.some((f) => f.fileName === "/main.js" && f.line === 3), JSON.stringify((e as GuestError).frames));
      return true;
    });
    await assert.rejects(rx.r_execfile("/top.js"), isGuestError("top", "TypeError"));
    // The first unhandled reason wins, as Node's process ends at the first one.
    await assert.rejects(rx.r_execfile("/second.js"), isGuestError("first"));
    // The sandbox is fine afterwards, and nothing carries into the next call.
    assert.equal(await rx.r_eval("1 + 1"), 2);
  });

  test(`${engine}: rejections handled before the call ends, and caught awaits, do not count`, async () => {
    using rx = new RExec({ engine, hooks: new MemoryHooks({ files: FILES }) });
    assert.equal(await rx.r_execfile("/handled-later.js"), undefined);
    assert.equal(await rx.r_execfile("/caught.js"), undefined);
    assert.equal(await rx.r_eval("const q = Promise.reject(2); Promise.resolve().then(() => q.catch(() => {})); 3"), 3);
    assert.equal(await rx.r_eval("(async () => { try { await Promise.reject(new Error('e')) } catch (e) { return e.message } })()"), "e");
    assert.equal(await rx.r_eval("Promise.allSettled([Promise.reject(1), Promise.reject(2)]).then((r) => r.length)"), 2);
    assert.equal(await rx.r_eval("Promise.any([Promise.reject(1), Promise.resolve(5)])"), 5);
  });

  test(`${engine}: r_eval and r_exec follow too; the call's own error comes first`, async () => {
    using rx = new RExec({ engine });
    await assert.rejects(rx.r_eval("Promise.reject(new Error('dropped')); 1"), isGuestError("dropped"));
    await assert.rejects(rx.r_exec("(async () => { await null; throw new RangeError('bg') })()"), isGuestError("bg", "RangeError"));
    // A rejected result is the call's error (not reported twice, not the other one).
    await assert.rejects(rx.r_eval("Promise.reject(new Error('result'))"), isGuestError("result"));
    await assert.rejects(rx.r_eval("Promise.reject(new Error('other')); throw new Error('sync')"), isGuestError("sync"));
    // A non-Error reason is reported like any thrown non-Error value.
    await assert.rejects(rx.r_eval("Promise.reject(42); 1"), (e: unknown) => e instanceof GuestError && e.thrown === 42);
    // exit() ends the run before unhandled rejections are looked at (as process.exit in Node).
    await assert.rejects(rx.r_eval("Promise.reject(new Error('x')); exit(3)"), (e: unknown) => e instanceof SystemExit && e.code === 3);
    assert.equal(await rx.r_eval("'fine'"), "fine");
  });

  test(`${engine}: modules: a throwing module is the call's error once; a caught dynamic import does not count`, async () => {
    using rx = new RExec({ engine, hooks: new MemoryHooks({ files: FILES }) });
    await assert.rejects(rx.r_execfile("/imports-throwing.mjs"), isGuestError("module body"));
    assert.equal(await rx.r_execfile("/dynamic.mjs"), undefined);
    await assert.rejects(rx.r_execfile("/tla.mjs"), isGuestError("tla"));
    await assert.rejects(rx.r_execfile("/exits.js"), (e: unknown) => e instanceof SystemExit && e.code === 3);
  });

  test(`${engine}: a guest callback's rejection awaited by the host is handled; one the guest drops is not`, async () => {
    let seen: unknown;
    using rx = new RExec({
      engine,
      globals: {
        run: async (cb: () => Promise<unknown>) => {
          try {
            await cb();
          } catch (error) {
            seen = error;
          }
          return "ran";
        },
      },
    });
    assert.equal(await rx.r_eval("run(async () => { throw new Error('cb') })"), "ran");
    assert.ok(seen instanceof GuestError && seen.message === "cb");
    const fn = (await rx.r_eval("async () => { throw new Error('direct') }")) as () => Promise<unknown>;
    await assert.rejects(fn(), isGuestError("direct"));
    await assert.rejects(rx.r_eval("run(async () => { Promise.reject(new Error('inner')); })"), isGuestError("inner"));
  });

  test(`${engine}: background work an r_exec left running fails the call during which it rejects unhandled`, async () => {
    let fail: (error: Error) => void = () => {};
    using rx = new RExec({ engine, globals: { later: () => new Promise((_, reject) => (fail = reject)) } });
    // r_exec does not wait for its host calls (r_execfile does): the call ends fine…
    assert.equal(await rx.r_exec("later().then(() => {}); undefined"), undefined);
    fail(new Error("background"));
    await new Promise((r) => setTimeout(r, 10));
    // …and the rejection, unhandled when it reaches the guest, fails the call that is running then.
    await assert.rejects(rx.r_eval("1"), isGuestError("background"));
    assert.equal(await rx.r_eval("2"), 2);
  });

  test(`${engine}: rejections at the deepest recursion never cost the sandbox its engine`, async () => {
    // (A tracker that called into JavaScript from there made limits.test.ts's deep-recursion test
    // drop the engine; the recorder is pure wasm. Not warmed up on purpose: after V8 optimises the
    // engine, async recursion overflows the main thread's native stack even without a tracker.)
    using rx = new RExec({ engine });
    for (let i = 0; i < 8; i++) {
      // The innermost async call fails with a stack overflow: its promise is rejected (and then
      // handled by its awaiting caller) at the deepest native stack the guest can reach.
      await assert.rejects(rx.r_eval("async function g() { await g(); } g()"), StackLimitError);
      await assert.rejects(rx.r_eval("async function h(n) { if (n % 7 === 0) Promise.reject(n); await h(n + 1); } h(1)"), StackLimitError);
    }
    assert.equal(rx.alive, true);
    assert.equal(await rx.r_eval("1 + 1"), 2);
  });

  test(`${engine}: many rejections, handled or not, cost little`, async () => {
    // A generous hang-guard only (the machine may be loaded): 20k rejections each way must not make a call crawl.
    using rx = new RExec({ engine, limits: { timeoutMs: 60000 } });
    const t0 = performance.now();
    assert.equal(await rx.r_eval("for (let i = 0; i < 20000; i++) Promise.reject(i).catch(() => {}); 1"), 1);
    await assert.rejects(rx.r_eval("for (let i = 0; i < 20000; i++) Promise.reject(new Error('m' + i)); 1"), isGuestError("m0"));
    assert.ok(performance.now() - t0 < 60000, `took ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(await rx.r_eval("2"), 2);
  });
}

test("worker mode: r_execfile and r_eval fail with the unhandled rejection; handled ones do not count", async () => {
  using rx = new RExec({ worker: true, hooks: new MemoryHooks({ files: FILES }) });
  await assert.rejects(rx.r_execfile("/main.js"), isGuestError("x"));
  await assert.rejects(rx.r_eval("Promise.reject(new Error('w')); 1"), isGuestError("w"));
  assert.equal(await rx.r_execfile("/handled-later.js"), undefined);
  assert.equal(await rx.r_eval("1 + 1"), 2);
});

test("the host never sees an unhandledRejection from all this", async () => {
  let unhandled = 0;
  const onUnhandled = () => unhandled++;
  process.on("unhandledRejection", onUnhandled);
  try {
    using rx = new RExec({ hooks: new MemoryHooks({ files: FILES }) });
    // Not awaited on purpose: a host that drops the call's promise must not die of it.
    void rx.r_execfile("/main.js");
    await assert.rejects(rx.r_eval("Promise.reject(new Error('y')); 1"), isGuestError("y"));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(unhandled, 0);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});
