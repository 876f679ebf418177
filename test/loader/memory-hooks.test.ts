import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryHooks } from "../../src/loader/hooks/memory-hooks.js";
import { RestrictedError } from "../../src/host/errors.js";
import { HOSTILE } from "./hostile-specifiers.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function tree(): MemoryHooks {
  return new MemoryHooks({
    files: {
      "main.ts": "import './lib/util'",
      "lib/util.js": "export const u = 1",
      "lib/index.js": "module.exports = 'lib index'",
      "dir/index.ts": "export {}",
      "ts-style/a.ts": "export {}",
      "data.json": "{\"a\":1}",
      "m.mjs": "", "c.cjs": "", "t.mts": "", "t.cts": "",
      "esm/package.json": JSON.stringify({ type: "module" }),
      "esm/a.js": "export default 1",
      "esm/b.ts": "export default 1",
      "esm/cjs/package.json": JSON.stringify({ type: "commonjs" }),
      "esm/cjs/a.js": "module.exports = 1",
      "plain/x.js": "",
      "node_modules/legacy/package.json": JSON.stringify({ name: "legacy", main: "lib/entry" }),
      "node_modules/legacy/lib/entry.js": "module.exports = 'legacy'",
      "node_modules/legacy/extra.js": "",
      "node_modules/noindex/index.js": "",
      "node_modules/maindir/package.json": JSON.stringify({ main: "./dist" }),
      "node_modules/maindir/dist/index.cjs": "",
      "node_modules/@scope/pkg/package.json": JSON.stringify({
        name: "@scope/pkg",
        exports: {
          ".": { import: "./esm/index.mjs", require: "./cjs/index.cjs", node: "./node-only.js" },
          "./feature": "./src/feature.js",
          "./utils/*": "./src/utils/*.js",
          "./package.json": "./package.json",
          "./bad": "./../../../secret.js",
        },
        imports: { "#internal": "./src/internal.js" },
      }),
      "node_modules/@scope/pkg/esm/index.mjs": "",
      "node_modules/@scope/pkg/cjs/index.cjs": "",
      "node_modules/@scope/pkg/node-only.js": "",
      "node_modules/@scope/pkg/src/feature.js": "",
      "node_modules/@scope/pkg/src/hidden.js": "",
      "node_modules/@scope/pkg/src/utils/a.js": "",
      "node_modules/@scope/pkg/src/internal.js": "",
      "node_modules/escape-main/package.json": JSON.stringify({ main: "../../secret.js" }),
      "secret.js": "SECRET",
      "lib/node_modules/nested/index.js": "nested",
      "node_modules/nested/index.js": "top",
    },
  });
}

test("relative specifiers, extension and index probing", () => {
  const h = tree();
  assert.equal(h.resolve("./main.ts", undefined, "import"), "/main.ts");
  assert.equal(h.resolve("./main", undefined, "import"), "/main.ts");
  assert.equal(h.resolve("./lib/util", "/main.ts", "import"), "/lib/util.js");
  assert.equal(h.resolve("./lib", undefined, "require"), "/lib/index.js");
  assert.equal(h.resolve("./lib/", undefined, "require"), "/lib/index.js");
  assert.equal(h.resolve("./dir", undefined, "import"), "/dir/index.ts");
  assert.equal(h.resolve("../main.ts", "/lib/util.js", "import"), "/main.ts");
  assert.equal(h.resolve("/lib/util.js", "/esm/a.js", "import"), "/lib/util.js");
  assert.equal(h.resolve(".", "/lib/util.js", "require"), "/lib/index.js");
  assert.equal(h.resolve("./nope", undefined, "import"), undefined);
  // TypeScript convention: import "./a.js" names a.ts
  assert.equal(h.resolve("./ts-style/a.js", undefined, "import"), "/ts-style/a.ts");
  assert.equal(h.cwd, "/");
});

test("formats and typescript flags", () => {
  const h = tree();
  const f = (id: string) => h.load(id).format;
  assert.equal(f("/m.mjs"), "module");
  assert.equal(f("/t.mts"), "module");
  assert.equal(f("/c.cjs"), "commonjs");
  assert.equal(f("/t.cts"), "commonjs");
  assert.equal(f("/data.json"), "json");
  assert.equal(f("/esm/a.js"), "module");
  assert.equal(f("/esm/b.ts"), "module");
  assert.equal(f("/esm/cjs/a.js"), "commonjs");
  assert.equal(f("/plain/x.js"), undefined);
  assert.equal(h.load("/main.ts").typescript, true);
  assert.equal(h.load("/t.cts").typescript, true);
  assert.equal(h.load("/esm/a.js").typescript, false);
  assert.deepEqual(h.load("/lib/util.js"), { id: "/lib/util.js", source: "export const u = 1", format: undefined, typescript: false });
});

test("packages: main, index, exports conditions, subpath patterns, imports", () => {
  const h = tree();
  assert.equal(h.resolve("legacy", "/main.ts", "require"), "/node_modules/legacy/lib/entry.js");
  assert.equal(h.resolve("legacy/extra", "/main.ts", "require"), "/node_modules/legacy/extra.js");
  assert.equal(h.resolve("noindex", "/main.ts", "import"), "/node_modules/noindex/index.js");
  assert.equal(h.resolve("maindir", "/main.ts", "import"), "/node_modules/maindir/dist/index.cjs");
  assert.equal(h.resolve("@scope/pkg", "/main.ts", "import"), "/node_modules/@scope/pkg/esm/index.mjs");
  assert.equal(h.resolve("@scope/pkg", "/main.ts", "require"), "/node_modules/@scope/pkg/cjs/index.cjs");
  assert.equal(h.resolve("@scope/pkg/feature", "/main.ts", "import"), "/node_modules/@scope/pkg/src/feature.js");
  assert.equal(h.resolve("@scope/pkg/utils/a", "/main.ts", "import"), "/node_modules/@scope/pkg/src/utils/a.js");
  assert.equal(h.resolve("@scope/pkg/package.json", "/main.ts", "import"), "/node_modules/@scope/pkg/package.json");
  // not exported → not found, even though the file exists
  assert.equal(h.resolve("@scope/pkg/src/hidden.js", "/main.ts", "import"), undefined);
  // exports target escaping the package → not found
  assert.equal(h.resolve("@scope/pkg/bad", "/main.ts", "import"), undefined);
  // package main escaping the package → falls back to index, which is missing
  assert.equal(h.resolve("escape-main", "/main.ts", "import"), undefined);
  // imports field, from inside the package
  assert.equal(h.resolve("#internal", "/node_modules/@scope/pkg/esm/index.mjs", "import"), "/node_modules/@scope/pkg/src/internal.js");
  assert.equal(h.resolve("#internal", "/main.ts", "import"), undefined);
  // nearest node_modules wins
  assert.equal(h.resolve("nested", "/lib/util.js", "import"), "/lib/node_modules/nested/index.js");
  assert.equal(h.resolve("nested", "/main.ts", "import"), "/node_modules/nested/index.js");
  assert.equal(h.resolve("missing-pkg", "/main.ts", "import"), undefined);
});

test("hostile specifiers against MemoryHooks: refused or not found", () => {
  const h = new MemoryHooks({ files: { "lib/util.js": "", "node_modules/legacy/index.js": "" } });
  for (const [spec, expected] of HOSTILE) {
    let result: string | undefined;
    try {
      result = h.resolve(spec, undefined, "import");
    } catch (e) {
      assert.ok(e instanceof RestrictedError, `${JSON.stringify(spec)} threw ${String(e)}`);
      assert.equal(expected, "restricted", `${JSON.stringify(spec)} was refused, expected not found`);
      continue;
    }
    assert.equal(result, undefined, `${JSON.stringify(spec)} resolved to ${result}`);
    assert.equal(expected, "notfound", `${JSON.stringify(spec)} was not refused`);
  }
});

test("MemoryHooks constructor rejects keys outside the tree or with NUL", () => {
  assert.throws(() => new MemoryHooks({ files: { "../x.js": "" } }), TypeError);
  assert.throws(() => new MemoryHooks({ files: { "a\0.js": "" } }), TypeError);
  assert.throws(() => new MemoryHooks({ files: { "a": "", "a/b": "" } }), TypeError);
  assert.equal(new MemoryHooks({ files: { "./a/../b.js": "x" } }).resolve("./b.js", undefined, "import"), "/b.js");
});

test("MemoryHooks fs: canonical paths, read, write, append, readdir, stat, mkdir, unlink", () => {
  const h = tree();
  const fs = h.fs;
  assert.equal(fs.canonicalPath("lib/util.js", "/"), "/lib/util.js");
  assert.equal(fs.canonicalPath("../util.js", "/lib/x"), "/lib/util.js");
  assert.equal(fs.canonicalPath("new.txt", "/lib"), "/lib/new.txt");
  assert.equal(fs.canonicalPath("../x", "/"), undefined);
  assert.equal(fs.canonicalPath("a\0b", "/"), undefined);
  assert.equal(fs.canonicalPath("nodir/new.txt", "/"), undefined);
  assert.equal(dec(fs.readFile("/lib/util.js")), "export const u = 1");
  fs.writeFile("/lib/new.js", enc("export const n = "), false);
  fs.writeFile("/lib/new.js", enc("2"), true);
  assert.equal(dec(fs.readFile("/lib/new.js")), "export const n = 2");
  // written files are importable
  assert.equal(h.resolve("./lib/new", undefined, "import"), "/lib/new.js");
  assert.equal(h.load("/lib/new.js").source, "export const n = 2");
  fs.writeFile("/lib/new.js", enc("x"), false);
  assert.equal(dec(fs.readFile("/lib/new.js")), "x");
  assert.deepEqual(fs.readdir("/lib"), ["index.js", "new.js", "node_modules", "util.js"]);
  assert.equal(fs.stat("/lib/new.js")?.kind, "file");
  assert.equal(fs.stat("/lib/new.js")?.size, 1);
  assert.equal(fs.stat("/lib")?.kind, "directory");
  assert.equal(fs.stat("/nope"), undefined);
  fs.mkdir("/made");
  assert.equal(fs.stat("/made")?.kind, "directory");
  assert.deepEqual(fs.readdir("/made"), []);
  assert.throws(() => fs.mkdir("/made"), { code: "EEXIST" });
  assert.throws(() => fs.mkdir("/x/y"), { code: "ENOENT" });
  fs.unlink("/lib/new.js");
  assert.equal(fs.stat("/lib/new.js"), undefined);
  assert.throws(() => fs.unlink("/lib/new.js"), { code: "ENOENT" });
  assert.throws(() => fs.readFile("/lib"), { code: "EISDIR" });
  assert.throws(() => fs.readdir("/lib/util.js"), { code: "ENOTDIR" });
  assert.throws(() => fs.writeFile("/nodir/x", enc(""), false), { code: "ENOENT" });
  assert.throws(() => h.load("/nope.js"), { code: "ENOENT", message: "ENOENT: no such file or directory, open '/nope.js'" });
});

test("escapes from the root are refused, not clamped", () => {
  const h = new MemoryHooks({ files: { "x.js": "" } });
  // "../x.js" from the root must not silently mean "/x.js"
  assert.throws(() => h.resolve("../x.js", undefined, "import"), RestrictedError);
  assert.throws(() => h.resolve("./a/../../x.js", undefined, "import"), RestrictedError);
  assert.equal(h.resolve("./a/../x.js", undefined, "import"), "/x.js");
});
