import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { UrlHooks } from "../../src/loader/hooks/url-hooks.js";
import { ModuleNotFoundError, RestrictedError } from "../../src/host/errors.js";

let server: http.Server;
let origin = "";
let otherOrigin = ""; // same server, reached as "localhost": a different origin
const hits: string[] = [];
const pending = new Set<http.ServerResponse>();

before(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    hits.push(url);
    const send = (status: number, body: string, type = "text/javascript", extra: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": type, ...extra });
      res.end(body);
    };
    switch (url) {
      case "/app/main.js": return send(200, "import './dep.js';");
      case "/app/dep.js": return send(200, "export const dep = 1;");
      case "/app/data.json": return send(200, '{"a":1}', "application/json");
      case "/app/data": return send(200, '{"a":1}', "application/json; charset=utf-8");
      case "/app/mod.ts": return send(200, "export const t: number = 1;", "video/mp2t");
      case "/app/mod.mjs": return send(200, "export {}");
      case "/app/mod.cjs": return send(200, "module.exports = 1");
      case "/app/bom.js": return send(200, "\ufeffexport {}");
      case "/app/err": return send(500, "boom");
      case "/app/redir-in": return send(302, "", "text/plain", { location: "/app/dep.js" });
      case "/app/redir-rel": return send(301, "", "text/plain", { location: "dep.js" });
      case "/app/redir-out": return send(302, "", "text/plain", { location: `${otherOrigin}/app/dep.js` });
      case "/app/redir-file": return send(307, "", "text/plain", { location: "file:///etc/passwd" });
      case "/app/redir-loop": return send(302, "", "text/plain", { location: "/app/redir-loop" });
      case "/app/slow": pending.add(res); return; // never answers
      case "/app/slow-body":
        res.writeHead(200, { "content-type": "text/javascript" });
        res.write("export const a = 1;\n");
        pending.add(res);
        return; // body never ends
      case "/app/big": return send(200, "x".repeat(5000));
      case "/app/big-chunked": {
        res.writeHead(200, { "content-type": "text/javascript" }); // no content-length: chunked
        let sent = 0;
        const tick = () => {
          if (res.destroyed || sent > 1_000_000) return res.end();
          res.write("y".repeat(1000));
          sent += 1000;
          setImmediate(tick);
        };
        return tick();
      }
      default: return send(404, "not found", "text/plain");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  otherOrigin = `http://localhost:${port}`;
});

after(async () => {
  for (const res of pending) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const hooks = (extra: { maxBytes?: number; timeoutMs?: number } = {}) => new UrlHooks({ base: `${origin}/app/`, allow: [origin], ...extra });

test("allowed origin: resolve fetches, ids are URLs, load uses the cache", async () => {
  const h = hooks();
  assert.equal(h.cwd, `${origin}/app/`);
  const id = await h.resolve("./main.js", undefined, "import");
  assert.equal(id, `${origin}/app/main.js`);
  const before = hits.filter((u) => u === "/app/main.js").length;
  const m = await h.load(id!);
  assert.deepEqual(m, { id, source: "import './dep.js';", format: undefined, typescript: false });
  await h.load(id!);
  assert.equal(hits.filter((u) => u === "/app/main.js").length, before, "load must not fetch again");
  assert.equal(await h.resolve(`${origin}/app/main.js#frag`, undefined, "import"), id);
});

test("relative imports resolve against the importing module's URL", async () => {
  const h = hooks();
  const main = `${origin}/app/main.js`;
  assert.equal(await h.resolve("./dep.js", main, "import"), `${origin}/app/dep.js`);
  assert.equal(await h.resolve("../app/dep.js", main, "import"), `${origin}/app/dep.js`);
  assert.equal(await h.resolve("/app/dep.js", main, "import"), `${origin}/app/dep.js`);
  assert.equal((await h.load(`${origin}/app/dep.js`)).source, "export const dep = 1;");
});

test("bare specifiers are not found", async () => {
  assert.equal(await hooks().resolve("lodash", undefined, "import"), undefined);
  assert.equal(await hooks().resolve("@scope/pkg/x.js", undefined, "require"), undefined);
});

test("formats from extension and content type", async () => {
  const h = hooks();
  const load = async (p: string) => {
    const id = await h.resolve(p, undefined, "import");
    const m = await h.load(id!);
    return [m.format, m.typescript];
  };
  assert.deepEqual(await load("./data.json"), ["json", false]);
  assert.deepEqual(await load("./data"), ["json", false]);
  assert.deepEqual(await load("./mod.ts"), [undefined, true]);
  assert.deepEqual(await load("./mod.mjs"), ["module", false]);
  assert.deepEqual(await load("./mod.cjs"), ["commonjs", false]);
  assert.equal((await h.load((await h.resolve("./bom.js", undefined, "import"))!)).source, "export {}");
});

test("other origins and schemes are refused with RestrictedError, without a request", async () => {
  const h = hooks();
  const count = hits.length;
  await assert.rejects(h.resolve(`${otherOrigin}/app/dep.js`, undefined, "import"), RestrictedError);
  await assert.rejects(h.resolve("http://169.254.169.254/latest/meta-data", undefined, "import"), RestrictedError);
  await assert.rejects(h.resolve("file:///etc/passwd", undefined, "import"), RestrictedError);
  await assert.rejects(h.resolve("data:text/javascript,export default 1", undefined, "import"), RestrictedError);
  await assert.rejects(h.resolve(`https://127.0.0.1:${new URL(origin).port}/app/dep.js`, undefined, "import"), RestrictedError);
  await assert.rejects(h.resolve("./x\0.js", undefined, "import"), RestrictedError);
  await assert.rejects(h.resolve(`//localhost:${new URL(origin).port}/app/dep.js`, undefined, "import"), RestrictedError);
  await assert.rejects(h.resolve(`http://user:pw@${origin.slice("http://".length)}/app/dep.js`, undefined, "import"), RestrictedError);
  await assert.rejects(h.load(`${otherOrigin}/app/dep.js`), RestrictedError);
  // a relative import from a module on another origin stays on that origin: refused too
  await assert.rejects(h.resolve("./dep.js", `${otherOrigin}/app/main.js`, "import"), RestrictedError);
  assert.equal(hits.length, count, "no request may reach the server");
});

test("404 is not found; other non-2xx statuses are errors", async () => {
  const h = hooks();
  assert.equal(await h.resolve("./missing.js", undefined, "import"), undefined);
  await assert.rejects(h.load(`${origin}/app/missing.js`), ModuleNotFoundError);
  await assert.rejects(h.resolve("./err", undefined, "import"), /HTTP 500/);
});

test("redirects: followed within allowed origins (id = final URL), refused elsewhere", async () => {
  const h = hooks();
  assert.equal(await h.resolve("./redir-in", undefined, "import"), `${origin}/app/dep.js`);
  assert.equal(await h.resolve("./redir-rel", undefined, "import"), `${origin}/app/dep.js`);
  const before = hits.length;
  await assert.rejects(h.resolve("./redir-out", undefined, "import"), (e: unknown) => e instanceof RestrictedError && e.message.includes(otherOrigin.replace("http://", "")));
  await assert.rejects(h.resolve("./redir-file", undefined, "import"), RestrictedError);
  assert.deepEqual(hits.slice(before), ["/app/redir-out", "/app/redir-file"], "the refused redirect targets were never requested");
  await assert.rejects(h.resolve("./redir-loop", undefined, "import"), /more than 10 redirects/);
});

test("a slow server times out (headers, and body)", async () => {
  const h = hooks({ timeoutMs: 150 });
  const t0 = Date.now();
  await assert.rejects(h.resolve("./slow", undefined, "import"), /timeoutMs \(150 ms\)/);
  await assert.rejects(h.resolve("./slow-body", undefined, "import"), /timeoutMs \(150 ms\)/);
  assert.ok(Date.now() - t0 < 3000);
  // a failed fetch is not cached: a later success is possible
  assert.equal(await h.resolve("./dep.js", undefined, "import"), `${origin}/app/dep.js`);
});

test("oversized bodies are refused: by Content-Length, and while streaming", async () => {
  const h = hooks({ maxBytes: 4096 });
  await assert.rejects(h.resolve("./big", undefined, "import"), (e: unknown) => e instanceof RestrictedError && /maxBytes, 4096 bytes/.test(e.message));
  await assert.rejects(h.resolve("./big-chunked", undefined, "import"), RestrictedError);
  assert.equal((await h.load((await h.resolve("./dep.js", undefined, "import"))!)).source, "export const dep = 1;");
});

test("constructor validation", () => {
  assert.throws(() => new UrlHooks({ base: "not a url", allow: [] }), TypeError);
  assert.throws(() => new UrlHooks({ base: "file:///x/", allow: [] }), TypeError);
  assert.throws(() => new UrlHooks({ base: `${origin}/`, allow: ["ftp://x"] }), TypeError);
  assert.throws(() => new UrlHooks({ base: `${origin}/`, allow: [origin], timeoutMs: 0 }), TypeError);
  assert.equal("fs" in new UrlHooks({ base: `${origin}/`, allow: [origin] }), false);
});
