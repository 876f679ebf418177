/**
 * The playground's static server (playground/server.mjs) on hostile requests:
 * path tricks never reach a file outside its mounts, and a request line no
 * URL parser accepts is answered, not allowed to end the process.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
// @ts-expect-error — a plain .mjs module without declarations.
import { startServer } from "../../playground/server.mjs";

let server: { url: string; close(): Promise<void>; server: { address(): { address: string; port: number } } };
let port = 0;

before(async () => {
  server = await startServer({ port: 0 });
  port = server.server.address().port;
});

after(async () => {
  await server?.close();
});

/** Send `path` as the raw request target (no client-side normalising); the status code, or "closed" when the connection ends unanswered. */
function rawGet(path: string): Promise<number | "closed"> {
  return new Promise((resolve, reject) => {
    let data = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to GET ${path}`)));
    socket.on("data", (chunk) => (data += String(chunk)));
    socket.on("error", reject);
    socket.on("close", () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      resolve(m ? Number(m[1]) : "closed");
    });
  });
}

test("binds 127.0.0.1 only", () => {
  assert.equal(server.server.address().address, "127.0.0.1");
});

test("path tricks never serve a file outside the mounts (.., encoded dots and slashes, backslashes, NUL)", async () => {
  assert.equal(await rawGet("/index.html"), 200);
  for (const path of [
    "/../package.json",
    "/%2e%2e/package.json",
    "/.%2e/.%2e/package.json",
    "/..%2fpackage.json",
    "/..%5cpackage.json",
    "/dist/browser/..%2f..%2fpackage.json",
    "/dist/playground/%2e%2e%2f%2e%2e%2fpackage.json",
    "/%2fetc%2fpasswd",
    "/index.html%00.css",
    "/%E0%A4%A",
  ]) {
    assert.equal(await rawGet(path), 404, path);
  }
});

test("a request target no URL parser accepts is refused and the server keeps serving", async () => {
  for (const path of ["//", "//[", "//a:b@"]) assert.equal(await rawGet(path), 400, path);
  assert.equal(await rawGet("/index.html"), 200);
});
