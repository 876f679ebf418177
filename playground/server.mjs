// The playground's static server (`npm run playground`), also used by the
// browser tests: serves playground/ and the browser bundles in dist/ on
// 127.0.0.1 only. node:http is enough for a handful of static files; no
// framework is worth a dependency here.
//
// Usage: node playground/server.mjs [--port N] (default 5178; 0 = any free port).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/** URL prefix → directory. Nothing outside these is served. */
const MOUNTS = [
  ["/dist/browser/", join(root, "dist", "browser")],
  ["/dist/playground/", join(root, "dist", "playground")],
  ["/", join(root, "playground")],
];
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
};

/** The file a request path names, or undefined (outside the mounts, or a path trick). */
function fileFor(pathname) {
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0")) return undefined;
  if (decoded.endsWith("/")) decoded += "index.html";
  for (const [prefix, dir] of MOUNTS) {
    if (!decoded.startsWith(prefix)) continue;
    const file = normalize(join(dir, decoded.slice(prefix.length)));
    return file.startsWith(dir + sep) ? file : undefined;
  }
  return undefined;
}

/**
 * Start the server. Resolves with its base URL and a close function.
 * `extra(req, res)` may answer a request first (tests serve modules for UrlHooks this way).
 */
export function startServer({ port = 5178, host = "127.0.0.1", extra } = {}) {
  const server = createServer(async (req, res) => {
    // A request target such as `//` or `//[` is no URL: an uncaught throw here would be an
    // unhandled rejection, which ends the whole process on Node 20 — one request must not stop the server.
    let url;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      res.writeHead(400, { "content-type": "text/plain" }).end("bad request");
      return;
    }
    if (extra && (await extra(req, res, url))) return;
    const file = req.method === "GET" || req.method === "HEAD" ? fileFor(url.pathname) : undefined;
    let body;
    try {
      body = file === undefined ? undefined : await readFile(file);
    } catch {
      body = undefined;
    }
    if (body === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({ url: `http://${host}:${address.port}/`, close: () => new Promise((r) => server.close(() => r())), server });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const at = process.argv.indexOf("--port");
  const port = at > 0 ? Number(process.argv[at + 1]) : Number(process.env.PORT ?? 5178);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error("usage: node playground/server.mjs [--port N]");
    process.exit(2);
  }
  const { url } = await startServer({ port });
  console.log(`rexec playground: ${url}`);
}
