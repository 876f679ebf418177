/**
 * rexec's browser bundle in a real Chromium: the same RExec on the page's
 * thread (initRExec), and WebWorkerRExec with its hard-kill deadline.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startHarness, type Harness } from "./harness.js";

let h: Harness;
let page: Page & { errors: string[] };

before(async () => {
  // A second origin role: modules for UrlHooks, served by the same local server under /remote/.
  h = await startHarness((_req, res, url) => {
    if (url.pathname === "/remote/main.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end('import { twice } from "./dep.js";\nexport const answer = twice(21);\n');
      return true;
    }
    if (url.pathname === "/remote/dep.js") {
      res.writeHead(200, { "content-type": "text/javascript" }).end("export function twice(x) { return x * 2; }\n");
      return true;
    }
    return false;
  });
  page = await h.newPage();
  await page.goto(`${h.url}blank.html`);
  await page.evaluate(async () => {
    const m = await import("/dist/browser/rexec.js");
    await m.initRExec();
    (globalThis as any).rexec = m;
  });
});

after(async () => {
  await h?.close();
});

/** Run `fn` in the page with the bundle's exports as `m`. */
function inPage<T>(fn: string): Promise<T> {
  return page.evaluate(`(async () => { const m = globalThis.rexec; ${fn} })()`) as Promise<T>;
}

describe("RExec on the page (initRExec)", () => {
  test("evaluates guest code and copies the result out", async () => {
    const r = await inPage<unknown>(`const rx = new m.RExec(); try { return await rx.r_eval("({ a: [1, 2, 3].map((x) => x * 2), s: 'é' + '\\u{1F600}' })"); } finally { rx.dispose(); }`);
    assert.deepEqual(r, { a: [2, 4, 6], s: "é\u{1F600}" });
  });

  test("host functions and globals: copies in, sync and async host functions", async () => {
    const r = await inPage<unknown>(`
      const seen = [];
      const rx = new m.RExec({ globals: { cfg: { n: 2 }, add: (a, b) => a + b, later: async (x) => x + 1, log: (x) => void seen.push(x) } });
      try {
        const v = await rx.r_eval("log('hi'); add(cfg.n, 3) + await later(10)");
        return { v, seen };
      } finally { rx.dispose(); }`);
    assert.deepEqual(r, { v: 16, seen: ["hi"] });
  });

  test("a large result crosses through the binary decoder (Latin-1 and UTF-16 strings)", async () => {
    const r = await inPage<{ n: number; first: string; last: string; lone: number }>(`
      const rx = new m.RExec();
      try {
        const v = await rx.r_eval("Array.from({ length: 5000 }, (_, i) => ({ i, s: 'x'.repeat(20) + (i % 2 ? 'é' : '\\u{1F600}'), lone: '\\uD800' }))");
        return { n: v.length, first: v[0].s, last: v[4999].s, lone: v[7].lone.charCodeAt(0) };
      } finally { rx.dispose(); }`);
    assert.deepEqual(r, { n: 5000, first: "x".repeat(20) + "\u{1F600}", last: "x".repeat(20) + "é", lone: 0xd800 });
  });

  test("web-standard globals (URL, TextEncoder, crypto, Intl, structuredClone) and deterministic mode work in the page", async () => {
    const r = await inPage<Record<string, unknown>>(`
      const code = "(async () => { const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc')); " +
        "return { url: new URL('../b?x=1#h', 'https://e.test/a/c').href, enc: Array.from(new TextEncoder().encode('é')), " +
        "hex: Array.from(new Uint8Array(d)).map((b) => b.toString(16).padStart(2, '0')).join(''), " +
        "rnd: crypto.getRandomValues(new Uint8Array(16)).length, uuid: crypto.randomUUID().length, " +
        "num: new Intl.NumberFormat('en-US').format(1234567.5), clone: structuredClone(new Map([[1, { a: [2] }]])).get(1).a[0], " +
        "btoa: btoa('hi'), math: Math.random() }; })()";
      const one = new m.RExec({ deterministic: { seed: 7 } });
      const two = new m.RExec({ deterministic: { seed: 7 } });
      try {
        const a = await one.r_eval(code), b = await two.r_eval(code);
        return { ...a, sameRandom: a.math === b.math };
      } finally { one.dispose(); two.dispose(); }`);
    assert.deepEqual({ ...r, math: typeof r["math"] }, {
      url: "https://e.test/b?x=1#h", enc: [195, 169], hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      rnd: 16, uuid: 36, num: "1,234,567.5", clone: 2, btoa: "aGk=", math: "number", sameRandom: true,
    });
  });

  test("a guest callback called by an async host function after its await: queued (no async context in a page), the call ends at limits.wallTimeMs, never hangs; a synchronous callback works", async () => {
    const r = await inPage<{ later: string; sync: unknown; after: unknown }>(`
      // Two sandboxes: under CPU load, a call made right after such a timeout in the same sandbox
      // once failed with "this guest function is no longer available" (reported; see the browser report).
      const rx = new m.RExec({ limits: { wallTimeMs: 800 }, globals: { later: async (cb) => { await new Promise((ok) => setTimeout(ok, 10)); return cb(2); } } });
      const sx = new m.RExec({ globals: { now: (cb) => cb(3) } });
      try {
        let later;
        try { later = String(await rx.r_eval("await later((x) => x * 10)")); } catch (e) { later = e.constructor.name + ":" + e.limit; }
        return { later, sync: await sx.r_eval("now((x) => x * 10)"), after: await sx.r_eval("1 + 1") };
      } finally { rx.dispose(); sx.dispose(); }`);
    assert.deepEqual(r, { later: "TimeoutError:wallTimeMs", sync: 30, after: 2 });
  });

  test("typed errors: GuestError with guest frames, SystemExit, RestrictedError, ModuleNotFoundError", async () => {
    const r = await inPage<Record<string, unknown>>(`
      const rx = new m.RExec({ okBuiltinModules: ["path"] });
      const out = {};
      const grab = async (k, code) => { try { await rx.r_exec(code, { filename: "t.js" }); out[k] = "no error"; } catch (e) { out[k] = { cls: e.constructor.name, inst: e instanceof m.RExecError, name: e.guestName, msg: e.message, frames: e.frames, code: e.code }; } };
      await grab("guest", "function f() { null.x; }\\nf();");
      await grab("exit", "exit(7)");
      await grab("restricted", "require('util')");
      await grab("missing", "require('./nope.js')");
      await grab("ts", "let x: number = 1");
      out.pathOk = await rx.r_eval("require('path').join('a', '..', 'b')");
      rx.dispose();
      return out;`);
    const guest = r["guest"] as { cls: string; inst: boolean; name: string; frames: Array<{ fileName: string; line: number }> };
    assert.equal(guest.cls, "GuestError");
    assert.equal(guest.inst, true);
    assert.equal(guest.name, "TypeError");
    assert.deepEqual(guest.frames.map((f) => [f.fileName, f.line]).slice(0, 2), [["t.js", 1], ["t.js", 2]]);
    assert.deepEqual([(r["exit"] as any).cls, (r["exit"] as any).code], ["SystemExit", 7]);
    assert.equal((r["restricted"] as any).cls, "RestrictedError");
    assert.match((r["restricted"] as any).msg, /util/);
    assert.equal((r["missing"] as any).cls, "ModuleNotFoundError");
    // TypeScript syntax in a .js file: the engine's syntax error (TypeScript guests: typescript.test.ts).
    assert.equal((r["ts"] as any).cls, "GuestError");
    assert.equal(r["pathOk"], "b");
  });

  test("what the browser build leaves out says so: Node worker mode, the classic engine", async () => {
    const r = await inPage<Record<string, string>>(`
      const out = {};
      try { const rx = new m.RExec({ worker: true }); await rx.r_eval("1"); out.worker = "none"; } catch (e) { out.worker = e.message; }
      try { const rx = new m.RExec({ engine: "quickjs" }); await rx.r_eval("1"); out.classic = "none"; } catch (e) { out.classic = e.message; }
      class Sub extends m.RExec {}
      const sub = new Sub();
      out.subclass = String([sub instanceof m.RExec, await sub.r_eval("2 + 3")]);
      sub.dispose();
      return out;`);
    assert.match(r["worker"]!, /Node worker mode .* not available in a browser; use WebWorkerRExec/);
    assert.match(r["classic"]!, /ships the quickjs-ng engine only/);
    assert.equal(r["subclass"], "true,5");
  });

  test("limits: memory, CPU time, stack, output — each a typed error, the sandbox still usable", async () => {
    const r = await inPage<Record<string, unknown>>(`
      const out = {};
      // Memory first, in a sandbox whose CPU limit cannot end it first on a loaded machine.
      const big = new m.RExec({ limits: { memoryBytes: 16 * 1024 * 1024, timeoutMs: 20000 } });
      try { await big.r_exec("const a = []; for (;;) a.push('x'.repeat(1 << 20) + a.length);"); out.memory = "no error"; } catch (e) { out.memory = [e.constructor.name, e.limit, e instanceof m.LimitError]; }
      out.memoryAfter = await big.r_eval("6 * 7");
      big.dispose();
      const rx = new m.RExec({ limits: { timeoutMs: 300, stackBytes: 256 * 1024, outputBytes: 1000 } });
      const grab = async (k, code) => { try { await rx.r_exec(code); out[k] = "no error"; } catch (e) { out[k] = [e.constructor.name, e.limit, e instanceof m.LimitError]; } };
      await grab("cpu", "while (true) {}");
      await grab("stack", "function r() { return r() + 1; } r();");
      await grab("output", "for (;;) console.log('spam spam spam');");
      out.after = await rx.r_eval("6 * 7");
      rx.dispose();
      return out;`);
    assert.deepEqual(r["memory"], ["MemoryLimitError", "memoryBytes", true]);
    assert.equal(r["memoryAfter"], 42);
    assert.deepEqual(r["cpu"], ["TimeoutError", "timeoutMs", true]);
    assert.deepEqual((r["stack"] as unknown[])[0], "StackLimitError");
    assert.deepEqual(r["output"], ["OutputLimitError", "outputBytes", true]);
    assert.equal(r["after"], 42);
  });

  test("MemoryHooks: ESM and CommonJS modules, r_import namespace with callable functions", async () => {
    const r = await inPage<unknown>(`
      const rx = new m.RExec({ hooks: new m.MemoryHooks({ files: {
        "/calc.js": "import { k } from './k.js'; export function mul(x) { return x * k; } export const name = 'calc';",
        "/k.js": "export const k = 3;",
        "/cjs.cjs": "module.exports = { v: require('./k.js').k + 1 };",
      } }) });
      try {
        const ns = await rx.r_import("./calc.js");
        return { name: ns.name, mul: await ns.mul(5), cjs: await rx.r_eval("require('./cjs.cjs').v") };
      } finally { rx.dispose(); }`);
    assert.deepEqual(r, { name: "calc", mul: 15, cjs: 4 });
  });

  test("UrlHooks: a module graph fetched from an allowed origin; other origins refused", async () => {
    const r = await inPage<Record<string, unknown>>(`
      const base = location.origin + "/remote/";
      const rx = new m.RExec({ hooks: new m.UrlHooks({ base, allow: [location.origin] }) });
      const out = {};
      try {
        out.answer = (await rx.r_import("./main.js")).answer;
        try { await rx.r_import("http://example.invalid/x.js"); out.denied = "no error"; } catch (e) { out.denied = e.constructor.name; }
      } finally { rx.dispose(); }
      return out;`);
    assert.equal(r["answer"], 42);
    assert.equal(r["denied"], "RestrictedError");
  });
});

describe("WebWorkerRExec", () => {
  test("runs guest code in a Web Worker; page host functions are async for the guest", async () => {
    const r = await inPage<unknown>(`
      const calls = [];
      const wx = new m.WebWorkerRExec({ globals: { cfg: { n: 4 }, add: (a, b) => { calls.push([a, b]); return a + b; } }, files: { "/lib.js": "export const sq = (x) => x * x;" } });
      try {
        const v = await wx.r_eval("import { sq } from './lib.js';\\nconsole.log('out');\\nsq(await add(cfg.n, 1))");
        return { v, calls, out: wx.output.stdout, cpu: wx.lastCallCpuMs >= 0, heap: wx.heapBytes > 0 };
      } finally { wx.dispose(); }`);
    assert.deepEqual(r, { v: 25, calls: [[4, 1]], out: "out\n", cpu: true, heap: true });
  });

  test("across the worker: a page host function's error reaches the guest; r_import's functions are callable from the page", async () => {
    const r = await inPage<unknown>(`
      const wx = new m.WebWorkerRExec({ globals: { fail: () => { throw new RangeError("page says no"); } }, files: { "/calc.js": "export const mul = (x, y) => x * y; export const k = 3;" } });
      try {
        const caught = await wx.r_eval("(async () => { try { await fail(); return 'none'; } catch (e) { return e.name + ': ' + e.message; } })()");
        const ns = await wx.r_import("./calc.js");
        return { caught, k: ns.k, mul: await ns.mul(6, 7) };
      } finally { wx.dispose(); }`);
    assert.deepEqual(r, { caught: "RangeError: page says no", k: 3, mul: 42 });
  });

  test("hostile guest: none of the worker's or page's globals is reachable; fetch is refused", async () => {
    const probe = `[typeof self, typeof postMessage, typeof importScripts, typeof XMLHttpRequest, typeof document, typeof window, typeof WebAssembly, typeof Worker, typeof onmessage,
      (() => { try { return typeof Function("return this")().postMessage; } catch (e) { return "threw"; } })(),
      await fetch("http://127.0.0.1/").then(() => "fetched", (e) => e.name + ": " + String(e.message).slice(0, 60))]`;
    const r = await inPage<{ page: string[]; worker: string[] }>(`
      const code = ${JSON.stringify(probe)};
      const rx = new m.RExec();
      const wx = new m.WebWorkerRExec();
      try { return { page: await rx.r_eval(code), worker: await wx.r_eval(code) }; } finally { rx.dispose(); wx.dispose(); }`);
    for (const seen of [r.page, r.worker]) {
      assert.deepEqual(seen.slice(0, 10), Array(10).fill("undefined"));
      assert.match(seen[10]!, /^\w*Error: .*(not allowed|refused|denied|okFetchOrigins)/i);
    }
  });

  test("typed errors cross the worker boundary as their classes", async () => {
    const r = await inPage<unknown>(`
      const wx = new m.WebWorkerRExec({ limits: { memoryBytes: 16 * 1024 * 1024 } });
      const out = [];
      for (const code of ["throw new RangeError('bad')", "exit(2)", "const a = []; for (;;) a.push('y'.repeat(65536) + a.length);"]) {
        try { await wx.r_exec(code); out.push("none"); } catch (e) { out.push([e.constructor.name, e instanceof m.RExecError, e.guestName ?? e.code ?? e.limit]); }
      }
      wx.dispose();
      return out;`);
    assert.deepEqual(r, [["GuestError", true, "RangeError"], ["SystemExit", true, 2], ["MemoryLimitError", true, "memoryBytes"]]);
  });

  test("while(true): stopped by the CPU limit inside the worker, the page's timer keeps ticking, the sandbox stays usable", async () => {
    const r = await inPage<{ cls: string; limit: string; ticks: number; after: unknown }>(`
      const wx = new m.WebWorkerRExec({ limits: { timeoutMs: 600 } });
      await wx.ready;
      let ticks = 0;
      const timer = setInterval(() => ticks++, 20);
      try {
        let e;
        try { await wx.r_eval("while (true) {}"); } catch (x) { e = x; }
        return { cls: e?.constructor.name, limit: e?.limit, ticks, after: await wx.r_eval("1 + 1") };
      } finally { clearInterval(timer); wx.dispose(); }`);
    assert.equal(r.cls, "TimeoutError");
    assert.equal(r.limit, "timeoutMs");
    // 600 ms of guest CPU at one tick per 20 ms: a frozen page would show ~0.
    assert.ok(r.ticks >= 10, `page ticks while the guest spun: ${r.ticks}`);
    assert.equal(r.after, 2);
  });

  test("AbortSignal: a waiting call is aborted inside the worker (sandbox usable); a busy guest is stopped by terminating the worker; an aborted signal rejects at once", async () => {
    const r = await inPage<unknown>(`
      const wx = new m.WebWorkerRExec({ limits: { timeoutMs: 20000 }, globals: { slow: () => new Promise((ok) => setTimeout(() => ok(1), 5000)) } });
      await wx.ready;
      const abortAfter = (ms) => { const ac = new AbortController(); setTimeout(() => ac.abort("enough"), ms); return ac.signal; };
      const grab = async (code, signal) => { const t0 = performance.now(); try { await wx.r_eval(code, { signal }); return "none"; } catch (e) { return [e.constructor.name, e instanceof m.AbortError, e.cause, performance.now() - t0 < 3000, /did not survive/.test(e.message)]; } };
      const waiting = await grab("await slow()", abortAfter(200));
      const timer = await grab("await new Promise((ok) => setTimeout(ok, 5000))", abortAfter(200));
      const usable = await wx.r_eval("1 + 1");
      const pre = await grab("1", AbortSignal.abort("early"));
      const busy = await grab("for (;;) {}", abortAfter(200));
      let later; try { await wx.r_eval("1"); later = "none"; } catch (e) { later = e.constructor.name; }
      return { waiting, timer, usable, pre, busy, alive: wx.alive, later };`);
    assert.deepEqual(r, {
      waiting: ["AbortError", true, "enough", true, false],
      timer: ["AbortError", true, "enough", true, false],
      usable: 2,
      pre: ["AbortError", true, "early", true, false],
      busy: ["AbortError", true, "enough", true, true],
      alive: false,
      later: "DisposedError",
    });
  });

  test("hard-kill: at the wall-clock deadline the page terminates the worker (TimeoutError wallTimeoutMs), timers keep ticking, later calls get DisposedError", async () => {
    const r = await inPage<{ cls: string; limit: string; ms: number; ticks: number; alive: boolean; later: string }>(`
      const wx = new m.WebWorkerRExec({ limits: { timeoutMs: 60000 }, wallTimeoutMs: 700 });
      await wx.ready;
      let ticks = 0;
      const timer = setInterval(() => ticks++, 20);
      const t0 = performance.now();
      let e;
      try { await wx.r_eval("for (;;) {}"); } catch (x) { e = x; }
      const ms = performance.now() - t0;
      clearInterval(timer);
      let later;
      try { await wx.r_eval("1"); later = "none"; } catch (x) { later = x.constructor.name; }
      return { cls: e?.constructor.name, limit: e?.limit, ms, ticks, alive: wx.alive, later };`);
    assert.equal(r.cls, "TimeoutError");
    assert.equal(r.limit, "wallTimeoutMs");
    assert.ok(r.ms >= 650 && r.ms < 10_000, `rejected after ${r.ms} ms`);
    assert.ok(r.ticks >= 10, `page ticks while the guest spun: ${r.ticks}`);
    assert.equal(r.alive, false);
    assert.equal(r.later, "DisposedError");
  });

  test("the deadline does not count time the worker only waits (a guest timer), as Node worker mode", async () => {
    const r = await inPage<unknown>(`
      const wx = new m.WebWorkerRExec({ wallTimeoutMs: 500, limits: { timeoutMs: 200 } });
      try { return await wx.r_eval("await new Promise((ok) => setTimeout(() => ok('waited'), 1500))"); } catch (e) { return e.constructor.name + ":" + e.limit; } finally { wx.dispose(); }`);
    assert.equal(r, "waited");
  });

  test("a page too busy to read the worker's heartbeats does not mistake that for a silent worker", async () => {
    const r = await inPage<unknown>(`
      // The CPU limit is not what this tests: generous, so a cold first call on a loaded machine
      // (the budget is wall time while guest code runs) cannot end it (CI: 'TimeoutError:timeoutMs' at 200).
      const wx = new m.WebWorkerRExec({ wallTimeoutMs: 300, limits: { timeoutMs: 5000 } });
      await wx.ready;
      const call = wx.r_eval("await new Promise((ok) => setTimeout(() => ok('done'), 900))");
      const t0 = performance.now();
      while (performance.now() - t0 < 700) {} // the page's own long task: its timers and messages wait
      try { return await call; } catch (e) { return e.constructor.name + ":" + e.limit; } finally { wx.dispose(); }`);
    assert.equal(r, "done");
  });

  test("the deadline does not count time spent in the page's host functions", async () => {
    const r = await inPage<unknown>(`
      const wx = new m.WebWorkerRExec({ wallTimeoutMs: 500, globals: { slow: () => new Promise((ok) => setTimeout(() => ok(5), 1200)) } });
      try { return await wx.r_eval("await slow()"); } catch (e) { return e.constructor.name; } finally { wx.dispose(); }`);
    assert.equal(r, 5);
  });

  test("a busy guest cannot pass for alive by making the worker post messages: calling a page function without awaiting it, in a loop that never yields, still meets the deadline", async () => {
    const r = await inPage<{ cls: string; limit: string; ms: number; pings: number }>(`
      let pings = 0;
      const wx = new m.WebWorkerRExec({ limits: { timeoutMs: 15000 }, wallTimeoutMs: 700, globals: { ping: () => { pings++; } } });
      await wx.ready;
      const t0 = performance.now();
      let e;
      // One page call every ~10 ms (each posts a message to the page), the worker's thread never free.
      try { await wx.r_eval("for (;;) { const t = Date.now(); while (Date.now() - t < 10) {} ping(); }"); } catch (x) { e = x; }
      return { cls: e?.constructor.name, limit: e?.limit, ms: performance.now() - t0, pings };`);
    assert.ok(r.pings > 0, "the guest's page calls reached the page");
    assert.equal(r.cls, "TimeoutError");
    assert.equal(r.limit, "wallTimeoutMs");
    assert.ok(r.ms >= 650 && r.ms < 10_000, `rejected after ${r.ms} ms`);
  });

  test("the light entry rexec/web-worker (dist/browser/web-worker.js) runs a sandbox without loading the core on the page", async () => {
    const fresh = await h.newPage();
    try {
      await fresh.goto(`${h.url}blank.html`);
      const r = await fresh.evaluate(`(async () => {
        const w = await import("/dist/browser/web-worker.js");
        const wx = new w.WebWorkerRExec({ globals: { k: 6 } });
        try {
          const v = await wx.r_eval("k * 7");
          let e; try { await wx.r_eval("null.x"); } catch (x) { e = [x instanceof w.GuestError, x.guestName]; }
          const scripts = performance.getEntriesByType("resource").map((x) => new URL(x.name).pathname);
          return { v, e, scripts };
        } finally { wx.dispose(); }
      })()`);
      const { v, e, scripts } = r as { v: number; e: unknown[]; scripts: string[] };
      assert.equal(v, 42);
      assert.deepEqual(e, [true, "TypeError"]);
      assert.ok(!scripts.includes("/dist/browser/rexec.js"), scripts.join(" "));
    } finally {
      await fresh.close();
    }
  });

  test("no uncaught page errors", () => {
    assert.deepEqual(page.errors, []);
  });
});
