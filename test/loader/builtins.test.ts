import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import vm from "node:vm";
import { transformSync } from "esbuild";
import { BUILTIN_MODULE_NAMES, builtinSource } from "../../src/loader/builtin-sources.js";

const repo = join(import.meta.dirname, "..", "..");

before(() => {
  const t0 = Date.now();
  const out = execFileSync(process.execPath, [join(repo, "scripts", "build-builtins.mjs")], { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  assert.equal(out, "", "the build prints nothing on success");
  assert.ok(Date.now() - t0 < 3000, "the build takes under 3 s");
});

/** Evaluate a builtin body the way the guest loader will, in a fresh realm with no host globals. */
function load(name: string): any {
  const realm = vm.createContext({});
  const fn = vm.runInContext(`(function (module, exports, require) {${builtinSource(name)}\n})`, realm);
  const module = { exports: {} };
  fn(module, module.exports, (id: string) => {
    throw new Error(`a builtin bundle called require(${JSON.stringify(id)})`);
  });
  return module.exports;
}

test("one bundle per builtin, each read through builtinSource (cached)", () => {
  assert.deepEqual([...BUILTIN_MODULE_NAMES].sort(), ["assert", "buffer", "events", "path", "querystring", "string_decoder", "url", "util"]);
  for (const name of BUILTIN_MODULE_NAMES) {
    assert.equal(builtinSource(name), readFileSync(join(repo, "dist", "builtins", `${name}.js`), "utf8"));
    assert.equal(builtinSource(name), builtinSource(name));
  }
  assert.throws(() => builtinSource("fs"), TypeError);
  assert.throws(() => builtinSource("../package"), TypeError);
});

test("bundles name no host global: only JS builtins and globalThis are free", () => {
  const hostGlobals = [
    "process", "Buffer", "global", "window", "self", "document", "navigator", "console", "require", "module", "exports",
    "setTimeout", "clearTimeout", "setInterval", "setImmediate", "queueMicrotask", "fetch", "XMLHttpRequest",
    "TextEncoder", "TextDecoder", "URL", "URLSearchParams", "__dirname", "__filename", "performance", "location",
    "define", "importScripts", "postMessage", "crypto", "structuredClone", "Deno", "Bun", "atob", "btoa",
  ];
  // esbuild's `define` replaces only *free* identifiers: any marker in the output is a free reference.
  const define = Object.fromEntries(hostGlobals.map((n) => [n, `__FREE_${n}__`]));
  for (const name of BUILTIN_MODULE_NAMES) {
    const out = transformSync(`(function (module, exports, require) {${builtinSource(name)}\n})`, { define, logLevel: "silent" }).code;
    assert.deepEqual([...new Set(out.match(/__FREE_\w+?__/g) ?? [])], [], `builtin ${name}`);
  }
});

test("each bundle works in a realm without Node globals", async () => {
  const path = load("path");
  assert.equal(path.join("/a/b", "../c", "d.js"), "/a/c/d.js");
  assert.equal(path.resolve("x"), "/x");
  assert.equal(path.extname("f.ts"), ".ts");

  const util = load("util");
  assert.equal(util.format("%s=%d %j", "a", 1, { b: 2 }), 'a=1 {"b":2}');
  assert.equal(util.inspect({ a: [1, 2] }), "{ a: [ 1, 2 ] }");
  assert.equal(await util.promisify((x: number, cb: (e: null, v: number) => void) => cb(null, x + 1))(1), 2);

  const events = load("events");
  const em = new events.EventEmitter();
  let got: unknown;
  em.on("x", (v: unknown) => (got = v));
  em.emit("x", 42);
  assert.equal(got, 42);
  assert.equal(typeof events, "function");

  const assertMod = load("assert");
  assertMod.deepStrictEqual({ a: [1] }, { a: [1] });
  assert.throws(() => assertMod.strictEqual(1, 2), (e: Error) => e.name === "AssertionError");

  const url = load("url");
  const u = url.parse("http://user@example.com:8080/p/a?q=1#h", true);
  assert.equal(u.pathname, "/p/a");
  assert.equal(u.query.q, "1");
  assert.equal(url.resolve("http://a/b/c", "../d"), "http://a/d");

  const qs = load("querystring");
  assert.equal(qs.stringify({ a: "1 2", b: ["x", "y"] }), "a=1%202&b=x&b=y");
  assert.deepEqual({ ...qs.parse("a=1&b=2") }, { a: "1", b: "2" });

  const { Buffer } = load("buffer");
  assert.equal(Buffer.from("hi").toString("base64"), "aGk=");
  assert.equal(Buffer.from("aGk=", "base64").toString(), "hi");
  assert.equal(Buffer.isBuffer(Buffer.alloc(1)), true);

  // string_decoder carries its own copy of buffer; Buffers from the buffer module still work with it.
  const { StringDecoder } = load("string_decoder");
  const d = new StringDecoder("utf8");
  const euro = [0xe2, 0x82, 0xac];
  assert.equal(d.write(Buffer.from(euro.slice(0, 2))) + d.write(Buffer.from(euro.slice(2))), "€");
});

test("process.cwd in the bundles follows the guest's process when it has one", () => {
  const realm = vm.createContext({ process: { cwd: () => "/root0" } });
  const fn = vm.runInContext(`(function (module, exports, require) {${builtinSource("path")}\n})`, realm);
  const module = { exports: {} as { resolve(p: string): string } };
  fn(module, module.exports, () => {
    throw new Error("require");
  });
  assert.equal(module.exports.resolve("x"), "/root0/x");
});
