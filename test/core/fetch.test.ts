// The guest's fetch against a real local HTTP server: granted origins only,
// redirects checked per hop, body/header/time limits, abort, and hostile servers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type IncomingMessage, type ServerResponse } from "node:http";
import { createConnection, type AddressInfo, type Socket } from "node:net";
import { RExec, RExecPool } from "../../src/index.js";
import { isPrivateAddress, originAllowed, parseOrigins } from "../../src/loader/hooks/net-policy.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

const sockets = new Set<Socket>();
function serve(handler: Handler): Promise<{ server: Server; origin: string }> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => handler(req, res, Buffer.concat(chunks)));
    });
    server.on("connection", (s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    server.listen(0, "127.0.0.1", () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

let main: { server: Server; origin: string };
let other: { server: Server; origin: string };
let hostile: Server;
let hostileOrigin: string;
const seen: string[] = [];

before(async () => {
  other = await serve((req, res) => {
    seen.push(`other ${req.url}`);
    res.end("from other");
  });
  main = await serve((req, res, body) => {
    seen.push(`main ${req.method} ${req.url}`);
    const url = new URL(req.url!, "http://x");
    switch (url.pathname) {
      case "/json":
        res.setHeader("content-type", "application/json");
        res.setHeader("x-custom", "yes");
        res.end(JSON.stringify({ hello: "world", n: 42 }));
        return;
      case "/echo":
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ method: req.method, ct: req.headers["content-type"] ?? null, auth: req.headers.authorization ?? null, x: req.headers["x-test"] ?? null, body: body.toString("latin1") }));
        return;
      case "/bytes":
        res.end(Buffer.from([0, 1, 2, 255]));
        return;
      case "/status":
        res.statusCode = 404;
        res.statusMessage = "Nope";
        res.end("missing");
        return;
      case "/redirect-local":
        res.statusCode = 302;
        res.setHeader("location", "/json");
        res.end();
        return;
      case "/redirect-other":
        res.statusCode = 302;
        res.setHeader("location", `${other.origin}/secret`);
        res.end();
        return;
      case "/redirect-metadata":
        res.statusCode = 307;
        res.setHeader("location", "http://169.254.169.254/latest/meta-data/");
        res.end();
        return;
      case "/big":
        res.end(Buffer.alloc(Number(url.searchParams.get("n"))));
        return;
      case "/endless": {
        // No Content-Length: chunked, forever (until the client goes away).
        const chunk = Buffer.alloc(64 * 1024, 97);
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once("drain", pump);
        };
        pump();
        return;
      }
      case "/slow":
        // Never answers; the client's deadline or abort must end it.
        return;
      default:
        res.statusCode = 500;
        res.end();
    }
  });
  // A server that sends an endless header block.
  hostile = createServer();
  hostile.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.once("data", () => {
      s.write("HTTP/1.1 200 OK\r\n");
      const line = `x-big: ${"a".repeat(1000)}\r\n`;
      const pump = () => {
        while (!s.destroyed && s.write(line));
        if (!s.destroyed) s.once("drain", pump);
      };
      pump();
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => hostile.listen(0, "127.0.0.1", () => r()));
  hostileOrigin = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
});

after(() => {
  for (const s of sockets) s.destroy();
  main.server.close();
  other.server.close();
  hostile.close();
});

const run = (body: string) => `(async () => { ${body} })()`;

test("okFetchOrigins is validated with clear errors", () => {
  assert.throws(() => new RExec({ okFetchOrigins: ["ftp://x.org"] }), /okFetchOrigins entry "ftp:\/\/x.org" is not an http\(s\) origin/);
  assert.throws(() => new RExec({ okFetchOrigins: "http://x.org" as never }), /okFetchOrigins must be an array of strings/);
  assert.throws(() => new RExec({ okFetchOrigins: ["http://u:p@x.org"] }), /not an http\(s\) origin/);
  assert.deepEqual([...parseOrigins(["https://A.org/path", "*"], "t", true)], ["https://a.org", "*"]);
  // Any port of one scheme and host: "scheme://host:*" (what the CLI's --allow-net=<host> grants, as Deno).
  assert.deepEqual([...parseOrigins(["http://LocalHost:*", "https://[::1]:*"], "t")], ["http://localhost:*", "https://[::1]:*"]);
  for (const bad of ["http://x.org:80:*", "http://x.org/p:*", "ftp://x.org:*", "http://u@x.org:*", ":*"]) {
    assert.throws(() => parseOrigins([bad], "t"), /not an http\(s\) origin/, bad);
  }
  const allow = parseOrigins(["http://127.0.0.1:*"], "t");
  assert.equal(originAllowed(new URL("http://127.0.0.1:8080/x"), allow), true);
  assert.equal(originAllowed(new URL("http://127.0.0.1/x"), allow), true);
  assert.equal(originAllowed(new URL("https://127.0.0.1:8080/x"), allow), false);
  assert.equal(originAllowed(new URL("http://127.0.0.2:8080/x"), allow), false);
  assert.equal(originAllowed(new URL("http://user@127.0.0.1:8080/x"), allow), false);
});

test("private address classification", () => {
  for (const a of ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::ffff:a9fe:a9fe", "100.64.0.1", "not-an-ip"]) {
    assert.equal(isPrivateAddress(a), true, a);
  }
  for (const a of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) assert.equal(isPrivateAddress(a), false, a);
});

for (const worker of [false, true]) {
  const mode = worker ? "worker" : "in-thread";

  test(`${mode}: without okFetchOrigins fetch rejects with a TypeError naming the option`, async () => {
    using rx = new RExec({ worker });
    assert.equal(await rx.r_eval("typeof fetch + typeof Headers + typeof Request + typeof Response"), "functionfunctionfunctionfunction");
    const msg = await rx.r_eval(run(`try { await fetch(${JSON.stringify(main.origin + "/json")}); return "fetched"; } catch (e) { return e.name + ": " + e.message; }`));
    // The refusal names the exact grant: the option and the CLI flag with this origin.
    assert.equal(msg, `TypeError: fetch is not allowed: ${main.origin} is not granted (add it to okFetchOrigins; CLI: --allow-net=${main.origin})`);
  });

  test(`${mode}: "http://host:*" grants that host on any port (loopback included, as it is named), and nothing else`, async () => {
    using rx = new RExec({ worker, okFetchOrigins: [`http://${new URL(main.origin).hostname}:*`] });
    assert.equal(await rx.r_eval(run(`return (await fetch(${JSON.stringify(main.origin + "/json")})).status`)), 200);
    const other = await rx.r_eval(run(`try { await fetch(${JSON.stringify(main.origin.replace("http:", "https:") + "/json")}); return "fetched" } catch (e) { return e.message }`));
    assert.match(String(other), /is not granted/);
  });

  test(`${mode}: JSON, text, arrayBuffer, status, headers, POST bodies`, async () => {
    using rx = new RExec({ worker, okFetchOrigins: [main.origin] });
    const got = await rx.r_eval(run(`
      const r = await fetch(${JSON.stringify(main.origin + "/json")});
      return { ok: r.ok, status: r.status, ct: r.headers.get("Content-Type"), x: r.headers.get("x-custom"), url: r.url, redirected: r.redirected, json: await r.json(), used: r.bodyUsed };`));
    assert.deepEqual(got, { ok: true, status: 200, ct: "application/json", x: "yes", url: `${main.origin}/json`, redirected: false, json: { hello: "world", n: 42 }, used: true });
    assert.deepEqual(await rx.r_eval(run(`const r = await fetch(${JSON.stringify(main.origin + "/bytes")}); return Array.from(new Uint8Array(await r.arrayBuffer()));`)), [0, 1, 2, 255]);
    assert.deepEqual(await rx.r_eval(run(`const r = await fetch(${JSON.stringify(main.origin + "/status")}); return [r.ok, r.status, r.statusText, await r.text()];`)), [false, 404, "Nope", "missing"]);
    const echo = await rx.r_eval(run(`
      const out = [];
      for (const body of ["héllo", new Uint8Array([104, 105]), new Uint8Array([0, 104, 105, 0]).subarray(1, 3).buffer.slice(1, 3), new URLSearchParams({ a: "1 2" })]) {
        const r = await fetch(new Request(${JSON.stringify(main.origin + "/echo")}, { method: "POST", body, headers: { "X-Test": "t" } }));
        out.push(await r.json());
      }
      return out;`)) as { method: string; ct: string | null; x: string; body: string }[];
    assert.deepEqual(echo.map((e) => [e.method, e.ct, e.x, e.body]), [
      ["POST", "text/plain;charset=UTF-8", "t", Buffer.from("héllo").toString("latin1")],
      ["POST", null, "t", "hi"],
      ["POST", null, "t", "hi"],
      ["POST", "application/x-www-form-urlencoded;charset=UTF-8", "t", "a=1+2"],
    ]);
    // Classes behave as code expects.
    assert.deepEqual(await rx.r_eval(`const h = new Headers([["B", "2"], ["a", "1"]]); h.append("a", "3"); [[...h], new Response("x", { status: 201 }).status, Response.json({ a: 1 }).headers.get("content-type")]`), [[["a", "1, 3"], ["b", "2"]], 201, "application/json"]);
    assert.equal(await rx.r_eval(`try { new Headers({ "bad name": "x" }); "no" } catch (e) { e instanceof TypeError }`), true);
  });

  test(`${mode}: redirects are checked per hop; a non-granted origin is never requested`, async () => {
    using rx = new RExec({ worker, okFetchOrigins: [main.origin] });
    const r = await rx.r_eval(run(`const r = await fetch(${JSON.stringify(main.origin + "/redirect-local")}); return [r.url, r.redirected, (await r.json()).n];`));
    assert.deepEqual(r, [`${main.origin}/json`, true, 42]);
    seen.length = 0;
    const refused = await rx.r_eval(run(`try { await fetch(${JSON.stringify(main.origin + "/redirect-other")}); return "fetched"; } catch (e) { return e.name + ": " + e.message; }`));
    assert.match(String(refused), new RegExp(`^TypeError: fetch: origin ${other.origin} is not granted`));
    assert.deepEqual(seen, ["main GET /redirect-other"]);
    // Granted with "*": the metadata address is still refused (private, not granted by name).
    using star = new RExec({ worker, okFetchOrigins: [main.origin, "*"] });
    const meta = await star.r_eval(run(`try { await fetch(${JSON.stringify(main.origin + "/redirect-metadata")}); return "fetched"; } catch (e) { return e.name + ": " + e.message; }`));
    assert.match(String(meta), /^TypeError: fetch: http:\/\/169\.254\.169\.254 is a private address/);
    // Only "*": 127.0.0.1 is private and not granted by name.
    using starOnly = new RExec({ worker, okFetchOrigins: ["*"] });
    assert.match(String(await starOnly.r_eval(run(`try { await fetch(${JSON.stringify(main.origin + "/json")}); return "fetched"; } catch (e) { return e.message; }`))), /is a private address/);
    // A name is judged by what it resolves to (at connect time): localhost is loopback.
    assert.match(String(await starOnly.r_eval(run(`try { await fetch("http://localhost:${new URL(main.origin).port}/json"); return "fetched"; } catch (e) { return e.message; }`))), /localhost resolves to a private address/);
    // Granted by name, the same loopback name is allowed.
    using byName = new RExec({ worker, okFetchOrigins: [`http://localhost:${new URL(main.origin).port}`] });
    assert.equal(await byName.r_eval(run(`const r = await fetch("http://localhost:${new URL(main.origin).port}/json"); return (await r.json()).n;`)), 42);
    // redirect: "error" and "manual".
    assert.match(String(await rx.r_eval(run(`try { await fetch(${JSON.stringify(main.origin + "/redirect-local")}, { redirect: "error" }); return "fetched"; } catch (e) { return e.message; }`))), /redirect is 'error'/);
    assert.deepEqual(await rx.r_eval(run(`const r = await fetch(${JSON.stringify(main.origin + "/redirect-other")}, { redirect: "manual" }); return [r.status, r.headers.get("location")];`)), [302, `${other.origin}/secret`]);
    // Credentials in the URL are refused.
    assert.match(String(await rx.r_eval(run(`try { await fetch("http://u:p@127.0.0.1:${new URL(main.origin).port}/json"); return "fetched"; } catch (e) { return e.message; }`))), /embedded credentials/);
  });

  test(`${mode}: response bodies are bounded by limits.resultBytes, declared or streamed`, async () => {
    using rx = new RExec({ worker, okFetchOrigins: [main.origin], limits: { resultBytes: 64 * 1024 } });
    assert.equal(await rx.r_eval(run(`const r = await fetch(${JSON.stringify(main.origin + "/big?n=65536")}); return (await r.arrayBuffer()).byteLength;`)), 65536);
    assert.match(String(await rx.r_eval(run(`try { await fetch(${JSON.stringify(main.origin + "/big?n=65537")}); return "fetched"; } catch (e) { return e.name + ": " + e.message; }`))), /^TypeError: fetch failed: the response body is larger than 65536 bytes/);
    assert.match(String(await rx.r_eval(run(`try { await fetch(${JSON.stringify(main.origin + "/endless")}); return "fetched"; } catch (e) { return e.message; }`))), /larger than 65536 bytes/);
    assert.match(String(await rx.r_eval(run(`try { await fetch(${JSON.stringify(main.origin + "/echo")}, { method: "POST", body: new Uint8Array(65537) }); return "fetched"; } catch (e) { return e.message; }`))), /^fetch: the request \(body and headers\) is larger than limits.resultBytes$/);
  });

  test(`${mode}: a hostile server's endless headers fail the fetch, not the host`, async () => {
    using rx = new RExec({ worker, okFetchOrigins: [hostileOrigin] });
    const msg = await rx.r_eval(run(`try { await fetch(${JSON.stringify(hostileOrigin + "/")}); return "fetched"; } catch (e) { return e.name + ": " + e.message; }`));
    assert.match(String(msg), /^TypeError: fetch failed: /);
    assert.equal(await rx.r_eval("1 + 1"), 2);
  });

  test(`${mode}: a slow server ends at wallTimeMs; abort() ends a fetch with AbortError`, async () => {
    using rx = new RExec({ worker, okFetchOrigins: [main.origin], limits: { wallTimeMs: 500 } });
    const started = Date.now();
    await assert.rejects(rx.r_eval(run(`await fetch(${JSON.stringify(main.origin + "/slow")}); return "fetched";`)), (e: Error) => /wall|time/i.test(e.message));
    assert.ok(Date.now() - started < 20_000, "hang guard");
    using rx2 = new RExec({ worker, okFetchOrigins: [main.origin] });
    const aborted = await rx2.r_eval(run(`
      const c = new AbortController();
      const p = fetch(${JSON.stringify(main.origin + "/slow")}, { signal: c.signal });
      setTimeout(() => c.abort(), 50);
      try { await p; return "fetched"; } catch (e) { return e.name; }`));
    assert.equal(aborted, "AbortError");
    assert.equal(await rx2.r_eval(run(`try { await fetch(${JSON.stringify(main.origin + "/json")}, { signal: AbortSignal.abort() }); return "fetched"; } catch (e) { return e.name; }`)), "AbortError");
  });

  test(`${mode}: nokBuiltinNames removes fetch and its classes`, async () => {
    using rx = new RExec({ worker, okFetchOrigins: [main.origin], nokBuiltinNames: ["fetch", "Headers", "Request", "Response"] });
    assert.equal(await rx.r_eval("typeof fetch + typeof Headers + typeof Request + typeof Response"), "undefinedundefinedundefinedundefined");
    using rx2 = new RExec({ worker, okFetchOrigins: [main.origin], nokBuiltinNames: ["fetch"] });
    assert.equal(await rx2.r_eval("typeof fetch + ',' + typeof Headers"), "undefined,function");
  });

  test(`${mode}: the guest never holds a host object (fetch's constructor chain stays in the guest)`, async () => {
    using rx = new RExec({ worker, okFetchOrigins: [main.origin] });
    assert.equal(await rx.r_eval(run(`
      const r = await fetch(${JSON.stringify(main.origin + "/json")});
      const F = fetch.constructor, R = r.constructor.constructor;
      return F === Function && R === Function && Object.getPrototypeOf(r.headers) === Headers.prototype;`)), true);
  });
}

test("the pool's runs fetch from granted origins only", async () => {
  const pool = new RExecPool({ size: 1, okFetchOrigins: [main.origin] });
  try {
    const { value } = await pool.run(run(`const r = await fetch(${JSON.stringify(main.origin + "/json")}); return (await r.json()).hello;`));
    assert.equal(value, "world");
    const { value: refused } = await pool.run(run(`try { await fetch(${JSON.stringify(other.origin + "/x")}); return "fetched"; } catch (e) { return e.message; }`));
    assert.match(String(refused), /is not granted/);
  } finally {
    await pool.close({ force: true });
  }
});
