/** Issue 3: UrlHooks through RExec against a real HTTP server on 127.0.0.1. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { RExec, UrlHooks, RestrictedError, ModuleNotFoundError, GuestError } from "../../src/index.js";
import { CANARY, dump, settle } from "./helpers.js";

const routes: Record<string, string> = {
  "/app/main.mjs": "import { helper } from './lib/helper.mjs';\nimport data from './data.json';\nexport const out = helper(data.n);\nexport const add = (a, b) => a + b;",
  "/app/lib/helper.mjs": "import { k } from '../const.js';\nexport const helper = (n) => `helped ${n * k}`;",
  "/app/const.js": "export const k = 10;",
  "/app/data.json": JSON.stringify({ n: 4 }),
  "/app/cjs.cjs": "const h = require('./plain.cjs'); module.exports = { v: h.v + 1 };",
  "/app/plain.cjs": "module.exports = { v: 41 };",
  "/app/ts.ts": "enum E { A = 5 }\nexport const v: number = E.A;",
  "/app/to-other.mjs": "import x from 'OTHER/evil.mjs'; export default x;",
  "/app/abs-other.mjs": "export { default } from 'OTHER/evil.mjs';",
  "/app/redirect-out.mjs": "import x from './go-away.mjs'; export default x;",
  "/app/uses-404.mjs": "import './missing.mjs'; export default 1;",
  "/app/dyn.mjs": "export const go = () => import('./const.js').then((m) => m.k);",
};
let server: http.Server;
let other: http.Server;
let base = "";
let otherBase = "";
const hitsOnOther: string[] = [];

before(async () => {
  other = http.createServer((req, res) => {
    hitsOnOther.push(req.url ?? "");
    res.writeHead(200, { "content-type": "text/javascript" });
    res.end(`export default ${JSON.stringify(CANARY)};`);
  });
  await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
  otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  server = http.createServer((req, res) => {
    const url = req.url ?? "";
    if (url === "/app/go-away.mjs") {
      res.writeHead(302, { location: `${otherBase}/evil.mjs` });
      res.end();
      return;
    }
    if (url === "/app/slow.mjs") {
      setTimeout(() => { res.writeHead(200, { "content-type": "text/javascript" }); res.end("export default 1;"); }, 3000).unref();
      return;
    }
    const body = routes[url];
    if (body === undefined) {
      res.writeHead(404);
      res.end("not found");
      return;
    }
    res.writeHead(200, { "content-type": url.endsWith(".json") ? "application/json" : "text/javascript" });
    res.end(body.replaceAll("OTHER", otherBase));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  other.closeAllConnections();
  server.close();
  other.close();
});

function rexec(timeoutMs = 10_000): RExec {
  return new RExec({ hooks: new UrlHooks({ base: `${base}/app/`, allow: [base], timeoutMs }) });
}

test("UrlHooks via RExec: import a module with relative imports (nested, JSON, ..) from the allowed origin; functions callable", async () => {
  using rx = rexec();
  const ns = await rx.r_import("./main.mjs");
  assert.equal(ns.out, "helped 40");
  assert.equal(await (ns.add as (a: number, b: number) => Promise<number>)(2, 3), 5);
  assert.deepEqual(await rx.r_import("./cjs.cjs"), { v: 42 });
  assert.equal((await rx.r_import("./ts.ts")).v, 5);
  assert.equal((await rx.r_import(`${base}/app/const.js`)).k, 10);
  // A literal import() inside an imported module was prefetched too.
  assert.equal(await (((await rx.r_import("./dyn.mjs")).go) as () => Promise<number>)(), 10);
});

test("UrlHooks via RExec: another origin is refused (directly, from a module, via redirect); it is never fetched", async () => {
  using rx = rexec();
  hitsOnOther.length = 0;
  for (const spec of [`${otherBase}/evil.mjs`, "./to-other.mjs", "./abs-other.mjs", "./redirect-out.mjs"]) {
    const r = await settle(rx.r_import(spec));
    assert.equal(r.ok, false, spec);
    assert.doesNotMatch(dump(!r.ok && r.error), new RegExp(CANARY), spec);
    assert.ok(!r.ok && (r.error instanceof RestrictedError || r.error instanceof ModuleNotFoundError), `${spec}: ${dump(!r.ok && r.error)}`);
  }
  const r = await settle(rx.r_import(`${otherBase}/evil.mjs`));
  assert.ok(!r.ok && r.error instanceof RestrictedError, dump(!r.ok && r.error));
  // Only the redirect could have touched the other server, and its body was not used.
  assert.ok(hitsOnOther.every((h) => h === "/evil.mjs"), JSON.stringify(hitsOnOther));
  assert.ok(hitsOnOther.length <= 1, `other origin fetched ${hitsOnOther.length} times`);
  // Same host, other port is another origin; so is a file: URL.
  for (const spec of ["file:///etc/passwd", `${base.replace("127.0.0.1", "localhost")}/app/const.js`]) {
    const x = await settle(rx.r_import(spec));
    assert.equal(x.ok, false, spec);
  }
});

test("UrlHooks via RExec: 404 is not-found; a dynamic import of an unfetched computed URL fails clearly; a slow server times out", async () => {
  using rx = rexec(500);
  const missing = await settle(rx.r_import("./nope.mjs"));
  assert.ok(!missing.ok && missing.error instanceof ModuleNotFoundError, dump(!missing.ok && missing.error));
  const viaModule = await settle(rx.r_import("./uses-404.mjs"));
  assert.equal(viaModule.ok, false);
  const computed = await settle(rx.r_eval("const p = './con' + 'st.js'; import(p).then((m) => m.k)"));
  // Either it works or it says why; it never hangs and never reaches other origins.
  assert.ok(computed.ok ? computed.value === 10 : computed.error instanceof GuestError || computed.error instanceof Error, dump(computed));
  const t0 = Date.now();
  const slow = await settle(rx.r_import("./slow.mjs"));
  assert.equal(slow.ok, false);
  assert.ok(Date.now() - t0 < 2500, `slow server took ${Date.now() - t0} ms`);
  // The realm is still usable.
  assert.equal((await rx.r_import("./const.js")).k, 10);
});

test("UrlHooks have no file system: fs is refused with a RestrictedError", async () => {
  using rx = rexec();
  await assert.rejects(rx.r_eval("import('fs').then((fs) => fs.readFileSync('/etc/passwd', 'utf8'))"), RestrictedError);
});
