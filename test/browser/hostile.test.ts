/**
 * Hostile guests against the browser build's page-side machinery: values and
 * functions that come back from a Web Worker must never leave page code
 * hanging or the sandbox dead without a clear error.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";
import { startHarness, type Harness } from "./harness.js";

let h: Harness;
let page: Page & { errors: string[] };
/** Requests for /hang.wasm, never answered (ended before the server closes). */
const hanging: ServerResponse[] = [];

before(async () => {
  h = await startHarness((_req, res, url) => {
    if (url.pathname === "/hang.wasm") return hanging.push(res) > 0;
    if (url.pathname === "/other-engine.wasm") {
      // A valid wasm of another engine build (a stale cache, another rexec version's file).
      const require = createRequire(import.meta.url);
      res.writeHead(200, { "content-type": "application/wasm" }).end(readFileSync(require.resolve("@jitl/quickjs-wasmfile-release-sync/wasm")));
      return true;
    }
    if (url.pathname === "/fallback.wasm") {
      // What a single-page-app server answers for any path: its HTML, status 200.
      res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>app</title>");
      return true;
    }
    return false;
  });
  page = await h.newPage();
  await page.goto(`${h.url}blank.html`);
  await page.evaluate(async () => {
    (globalThis as any).rexec = await import("/dist/browser/rexec.js");
  });
});

after(async () => {
  for (const res of hanging) res.destroy();
  await h?.close();
});

/** Run `fn` in the page with the bundle's exports as `m`. */
function inPage<T>(fn: string): Promise<T> {
  return page.evaluate(`(async () => { const m = globalThis.rexec; ${fn} })()`) as Promise<T>;
}

/** Page-side: settle `p` or say "hang" after `ms`. */
const SETTLE = `const settle = (p, ms = 3000) => Promise.race([p.then((v) => ["resolved", v], (e) => ["rejected", e?.constructor?.name]), new Promise((r) => setTimeout(() => r("hang"), ms))]);`;

test("a guest function held by the page (r_import's, or a callback given to a host function) rejects with DisposedError once the worker is gone, never hangs", async () => {
  const r = await inPage<unknown>(`${SETTLE}
    let callback;
    const wx = new m.WebWorkerRExec({ globals: { keep: (f) => { callback = f; } }, files: { "/lib.js": "export const inc = (x) => x + 1;" } });
    const ns = await wx.r_import("/lib.js");
    await wx.r_eval("await keep((x) => x * 2)");
    const before = [await ns.inc(1), await callback(4)];
    wx.dispose();
    return { before, inc: await settle(ns.inc(2)), callback: await settle(callback(2)) };`);
  assert.deepEqual(r, { before: [2, 8], inc: ["rejected", "DisposedError"], callback: ["rejected", "DisposedError"] });
});

test("a result the browser's structured clone cannot carry (nested ~2000 deep, within the codec's bound) is a CloneError at once; the sandbox stays usable", async () => {
  const r = await inPage<unknown>(`${SETTLE}
    const wx = new m.WebWorkerRExec({ limits: { timeoutMs: 2000 }, wallTimeoutMs: 6000 });
    try {
      const t0 = performance.now();
      const arrays = await settle(wx.r_eval("{ let a = 0; for (let i = 0; i < 1990; i++) a = [a]; a }"));
      const objects = await settle(wx.r_eval("{ let a = 0; for (let i = 0; i < 1990; i++) a = { a }; a }"));
      return { arrays, objects, quick: performance.now() - t0 < 3000, after: await wx.r_eval("1 + 1"), alive: wx.alive };
    } finally { wx.dispose(); }`);
  assert.deepEqual(r, { arrays: ["rejected", "CloneError"], objects: ["rejected", "CloneError"], quick: true, after: 2, alive: true });
});

test("a wrong or unreachable wasm URL is an error naming the URL and what came back, on the page and in the worker; a call still waiting for a worker whose engine never arrives is cancelled by its AbortSignal", async () => {
  const r = await inPage<Record<string, unknown>>(`${SETTLE}
    const message = (p) => p.then(() => "loaded", (e) => e.message);
    const html = await message(m.initRExec({ wasmUrl: "/fallback.wasm" }));
    const unreachable = await message(m.initRExec({ wasmUrl: "http://127.0.0.1:1/engine.wasm" }));
    const wx = new m.WebWorkerRExec({ wasmUrl: "/fallback.wasm" });
    const inWorker = await message(wx.r_eval("1"));
    const stuck = new m.WebWorkerRExec({ wasmUrl: "/hang.wasm" });
    const controller = new AbortController();
    const call = settle(stuck.r_eval("1", { signal: controller.signal }), 4000);
    setTimeout(() => controller.abort(), 300);
    const aborted = await call;
    stuck.dispose();
    return { html, unreachable, inWorker, aborted };`);
  assert.match(String(r["html"]), /\/fallback\.wasm.*not a WebAssembly binary.*text\/html/);
  assert.match(String(r["unreachable"]), /http:\/\/127\.0\.0\.1:1\/engine\.wasm/);
  assert.match(String(r["inWorker"]), /\/fallback\.wasm.*not a WebAssembly binary/);
  assert.deepEqual(r["aborted"], ["rejected", "AbortError"]);
});

test("a wallTimeoutMs past setTimeout's range (2^31 ms) does not make the page's deadline timer fire over and over", async () => {
  const calls = await inPage<number>(`
    let calls = 0;
    const real = globalThis.setTimeout;
    globalThis.setTimeout = (f, ms, ...a) => { calls++; return real(f, ms, ...a); };
    try {
      const fresh = await import("/dist/browser/web-worker.js?timer-range"); // binds the counting setTimeout
      const wx = new fresh.WebWorkerRExec({ limits: { timeoutMs: 5000 }, wallTimeoutMs: 2 ** 32 });
      await wx.ready;
      const before = calls;
      await wx.r_eval("const t = Date.now(); while (Date.now() - t < 600);");
      wx.dispose();
      return calls - before;
    } finally { globalThis.setTimeout = real; }`);
  // One deadline timer per call (a browser runs a delay past 2^31-1 ms at once: it was re-armed every few ms, ~60 times).
  assert.ok(calls <= 3, `setTimeout called ${calls} times during one 600 ms call`);
});

test("options the browser build cannot honour are refused when the sandbox is made, saying why: Python guests, the guest's fetch", async () => {
  const r = await inPage<string[]>(`
    const out = [];
    for (const options of [{ language: "python" }, { okFetchOrigins: ["https://api.example"] }]) {
      try { new m.RExec(options); out.push("constructed"); } catch (e) { out.push(e.constructor.name + ": " + e.message); }
    }
    new m.RExec({ okFetchOrigins: [] }).dispose(); // nothing granted: nothing to refuse
    return out;`);
  assert.match(r[0]!, /^TypeError: rexec \(browser\): Python guests .*not available in a browser/);
  assert.match(r[1]!, /^TypeError: rexec \(browser\): okFetchOrigins: the guest's fetch is not available in a browser/);
});

test("a wasm binary that is not the engine this build was made with (a stale cache, another version) is refused by its hash, naming the URL, not run", async () => {
  const r = await inPage<string[]>(`
    const message = (p) => p.then(() => "loaded", (e) => e.message);
    const fresh = await import("/dist/browser/rexec.js?other-engine"); // its own engine state
    const page = await message(fresh.initRExec({ wasmUrl: "/other-engine.wasm" }).then(() => new fresh.RExec().r_eval("1")));
    const wx = new m.WebWorkerRExec({ wasmUrl: "/other-engine.wasm" });
    const worker = await message(wx.r_eval("1"));
    wx.dispose();
    return [page, worker];`);
  for (const seen of r) assert.match(seen, /\/other-engine\.wasm is not the engine this build of rexec was made with \(sha256 [0-9a-f]{12}/);
});

test("functions that crossed from the worker and were dropped by the page are released: 1 100 r_imports of a 100-function module keep working (the link's table held every one: refused past 100 000)", async () => {
  const r = await inPage<unknown>(`
    const src = Array.from({ length: 100 }, (_, i) => "export const f" + i + " = () => " + i + ";").join("\\n");
    const wx = new m.WebWorkerRExec({ files: { "/lib.js": src } });
    try {
      let i = 0;
      try {
        for (; i < 1100; i++) {
          await wx.r_import("/lib.js");
          if (i % 100 === 99) { gc(); await new Promise((r) => setTimeout(r, 20)); }
        }
      } catch (e) { return [e.name, e.message, i]; }
      const ns = await wx.r_import("/lib.js");
      return ["ok", await ns.f7()];
    } finally { wx.dispose(); }`);
  assert.deepEqual(r, ["ok", 7]);
});

test("limits.resultBytes and limits.wallTimeMs are hit on the page and across the worker: typed errors, the sandbox still usable (a waiting guest is not mistaken for a busy one)", async () => {
  const r = await inPage<unknown>(`
    await m.initRExec();
    const grab = (p) => p.then(() => "none", (e) => [e.constructor.name, e.limit]);
    const limits = { resultBytes: 64 * 1024, wallTimeMs: 400, timeoutMs: 2000 };
    const never = () => new Promise(() => {});
    const rx = new m.RExec({ limits, globals: { never } });
    const wx = new m.WebWorkerRExec({ limits, globals: { never } });
    try {
      const out = {};
      for (const [name, s] of [["page", rx], ["worker", wx]]) {
        out[name] = [
          await grab(s.r_eval("'x'.repeat(100 * 1024)")),
          await grab(s.r_eval("Array.from({ length: 20000 }, (_, i) => i)")),
          await grab(s.r_eval("await never()")),
          await s.r_eval("1 + 1"),
        ];
      }
      return { ...out, alive: wx.alive };
    } finally { rx.dispose(); wx.dispose(); }`);
  const expected = [["MemoryLimitError", "resultBytes"], ["MemoryLimitError", "resultBytes"], ["TimeoutError", "wallTimeMs"], 2];
  assert.deepEqual(r, { page: expected, worker: expected, alive: true });
});
