// Worker mode: same API as RExec, off the main thread. Tested through
// WorkerRExec directly (RExec's `worker: true` hook forwards to it).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  CloneError,
  DisposedError,
  GuestError,
  MemoryLimitError,
  OutputLimitError,
  RExecError,
  StackLimitError,
  SystemExit,
  TimeoutError,
} from "../../src/host/errors.ts";
import { WorkerRExec } from "../../src/worker/index.ts";

describe("WorkerRExec", () => {
  const log: string[] = [];
  const written: string[] = [];
  const rx = new WorkerRExec({
    limits: { timeoutMs: 400, outputBytes: 1000 },
    globals: {
      add: (a: number, b: number) => a + b,
      later: async (x: number) => {
        await new Promise((r) => setTimeout(r, 20));
        return x * 10;
      },
      fail: () => {
        throw new RangeError("host says no");
      },
      config: { name: "cfg", list: [1, 2, 3], when: new Date(0), map: new Map([["k", 1]]) },
      keep: (fn: (x: number) => Promise<number>) => {
        kept = fn;
        return true;
      },
    },
    stdio: { stdout: (t: string) => written.push(`out:${t}`), stderr: (t: string) => written.push(`err:${t}`) },
    verbose: (line) => log.push(line),
  });
  let kept: ((x: number) => Promise<number>) | undefined;
  after(() => rx.dispose());

  it("evaluates and keeps state across calls", async () => {
    assert.equal(await rx.r_eval("1 + 2"), 3);
    await rx.r_exec("globalThis.n = 41");
    assert.equal(await rx.eval("++n"), 42);
    assert.deepEqual(await rx.r_eval("config"), { name: "cfg", list: [1, 2, 3], when: new Date(0), map: new Map([["k", 1]]) });
  });

  it("calls sync host functions synchronously (the guest gets a value, not a promise)", async () => {
    assert.equal(await rx.r_eval("add(2, 3)"), 5);
    assert.equal(await rx.r_eval("typeof add(1, 1)"), "number");
    assert.equal(await rx.r_eval("let s = 0; for (let i = 0; i < 200; i++) s = add(s, i); s"), 19900);
  });

  it("calls async host functions (the guest awaits a promise)", async () => {
    assert.equal(await rx.r_eval("later(4)"), 40);
    assert.equal(await rx.r_eval("(async () => (await later(1)) + (await later(2)))()"), 30);
  });

  it("passes host errors to the guest as guest errors", async () => {
    assert.equal(await rx.r_eval("try { fail() } catch (e) { e.name + ': ' + e.message }"), "RangeError: host says no");
  });

  it("returns guest functions as async host functions, also passed to host functions", async () => {
    const double = (await rx.r_eval("(x) => x * 2")) as (x: number) => Promise<number>;
    assert.equal(typeof double, "function");
    assert.equal(await double(21), 42);
    assert.equal(await rx.r_eval("keep((x) => x + n)"), true);
    assert.equal(await kept!(1), 43);
  });

  it("captures output of r_* calls and forwards s_* output to stdio", async () => {
    await rx.r_exec("console.log('captured'); console.error('oops')");
    assert.deepEqual(rx.output, { stdout: "captured\n", stderr: "oops\n" });
    await rx.s_exec("console.log('shown')");
    assert.deepEqual(written, ["out:shown\n"]);
  });

  it("delivers typed errors with their fields", async () => {
    const guest = await rx.r_eval("function thrower() { throw new TypeError('boom') }\nthrower()", { filename: "script.js" }).catch((e) => e);
    assert.ok(guest instanceof GuestError);
    assert.equal(guest.guestName, "TypeError");
    assert.equal(guest.message, "boom");
    assert.ok(guest.frames.some((f: { fileName: string; line: number }) => f.fileName === "script.js" && f.line === 1));
    assert.match(guest.stack, /script\.js:1/);

    const exit = await rx.r_eval("exit(3)").catch((e) => e);
    assert.ok(exit instanceof SystemExit);
    assert.equal(exit.code, 3);

    const timeout = await rx.r_eval("while (true) {}").catch((e) => e);
    assert.ok(timeout instanceof TimeoutError);
    assert.equal(timeout.limit, "timeoutMs");
    assert.equal(timeout.value, 400);

    const output = await rx.r_exec("for (;;) console.log('x'.repeat(100))").catch((e) => e);
    assert.ok(output instanceof OutputLimitError);

    const stack = await rx.r_eval("function f() { return f() + 1 } f()").catch((e) => e);
    assert.ok(stack instanceof StackLimitError, String(stack));

    const thrown = await rx.r_eval("throw 42").catch((e) => e);
    assert.ok(thrown instanceof GuestError);
    assert.equal(thrown.thrown, 42);

    // The realm survives all of these.
    assert.equal(await rx.r_eval("n"), 42);
    assert.ok(log.some((line) => line.includes("timeoutMs")), "verbose lines are forwarded");
  });

  it("recurses deeper than the main thread allows (1 MiB default stack in a worker)", async () => {
    const depth = await rx.r_eval("let d = 0; function r() { d++; r() } try { r() } catch {} d");
    assert.ok((depth as number) > 5000, `depth ${depth}`);
  });

  it("refuses values nested too deeply to cross the thread boundary", async () => {
    const deep = await rx.r_eval("let v = []; for (let i = 0; i < 5000; i++) v = [v]; v").catch((e) => e);
    assert.ok(deep instanceof CloneError, String(deep));
  });

  it("keeps the host event loop ticking while the guest spins", async () => {
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    const result = await rx.r_eval("while (true) {}").catch((e) => e);
    clearInterval(interval);
    assert.ok(result instanceof TimeoutError);
    assert.ok(ticks >= 15, `only ${ticks} ticks in a 400 ms spin`);
  });
});

describe("WorkerRExec lifetime", () => {
  it("kills a worker at the wall-clock deadline, then reports DisposedError", async () => {
    const rx = new WorkerRExec({ limits: { timeoutMs: 60_000 }, worker: { wallTimeoutMs: 300 } });
    const started = performance.now();
    const error = await rx.r_eval("while (true) {}").catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.limit, "wallTimeoutMs");
    assert.equal(error.value, 300);
    assert.ok(performance.now() - started < 5000);
    assert.equal(rx.alive, false);
    await assert.rejects(rx.r_eval("1"), DisposedError);
  });

  it("does not count host function time against the wall clock", async () => {
    const rx = new WorkerRExec({
      worker: { wallTimeoutMs: 200 },
      globals: { slow: () => new Promise((r) => setTimeout(() => r("done"), 400)), block: () => { const end = Date.now() + 300; while (Date.now() < end); return "ok"; } },
    });
    try {
      assert.equal(await rx.r_eval("slow()"), "done");
      assert.equal(await rx.r_eval("block()"), "ok");
    } finally {
      rx.dispose();
    }
  });

  it("rejects pending calls with a clear error when the worker dies, never hangs", async () => {
    // A heap backstop too small to even start the worker: it dies with ERR_WORKER_OUT_OF_MEMORY.
    const rx = new WorkerRExec({ worker: { resourceLimits: { maxOldGenerationSizeMb: 2, maxYoungGenerationSizeMb: 1 } } });
    const first = rx.r_eval("1");
    const second = rx.r_eval("2");
    const error = await first.catch((e) => e);
    assert.ok(error instanceof MemoryLimitError, String(error));
    assert.equal(error.limit, "maxOldGenerationSizeMb");
    assert.match(error.message, /worker/);
    await assert.rejects(second, DisposedError);
    assert.equal(rx.alive, false);
    await assert.rejects(rx.r_eval("1"), DisposedError);
  });

  it("refuses a stackBytes the engine cannot honour; the largest allowed one ends deep recursion cleanly", async () => {
    // Above 4 MiB the engine's own stack check stops firing before the worker's native stack overflows.
    assert.throws(() => new WorkerRExec({ limits: { stackBytes: 8 * 1024 * 1024 } }), /limits\.stackBytes must be between/);
    const rx = new WorkerRExec({ limits: { stackBytes: 4 * 1024 * 1024, timeoutMs: 5000 } });
    try {
      const error = await rx.r_eval("function r() { return r() + 1 } r()").catch((e) => e);
      assert.ok(error instanceof StackLimitError, String(error));
      assert.equal(await rx.r_eval("1 + 1"), 2);
    } finally {
      rx.dispose();
    }
  });

  it("dispose rejects pending calls and later calls with DisposedError", async () => {
    const rx = new WorkerRExec({ limits: { timeoutMs: 5000 } });
    const pending = rx.r_eval("while (true) {}");
    await new Promise((r) => setTimeout(r, 50));
    rx.dispose();
    await assert.rejects(pending, DisposedError);
    await assert.rejects(rx.r_exec("1"), DisposedError);
  });

  it("carries a subclass's policy statics to the worker", async () => {
    class Strict {
      static okProcessNames = ["argv"];
    }
    const rx = new WorkerRExec({}, Strict as never);
    try {
      assert.equal(await rx.r_eval("typeof process.env"), "undefined");
      assert.equal(await rx.r_eval("Array.isArray(process.argv)"), true);
    } finally {
      rx.dispose();
    }
  });

  it("validates options on the calling thread", () => {
    assert.throws(() => new WorkerRExec({ limits: { timeoutMs: -1 } }), RangeError);
    assert.throws(() => new WorkerRExec({ hooks: {} as never }), TypeError);
  });
});

describe("RExec({ worker: true })", () => {
  it("is constructed through RExec, keeps instanceof, and carries a subclass's statics", async () => {
    const { RExec } = await import("../../src/index.ts");
    class Strict extends RExec {
      static override okBuiltinModules: readonly string[] = [];
    }
    const rx = new Strict({ worker: true });
    try {
      assert.ok(rx instanceof WorkerRExec);
      assert.ok(rx instanceof RExec);
      assert.ok(rx instanceof Strict);
      assert.equal(await rx.r_eval("6 * 7"), 42);
      await assert.rejects(rx.r_eval("import('path')"), /builtin module "path"/);
    } finally {
      rx.dispose();
    }
    const plain = new RExec({ worker: true });
    try {
      assert.ok(plain instanceof RExec);
      assert.ok(!(plain instanceof Strict));
    } finally {
      plain.dispose();
    }
  });
});
