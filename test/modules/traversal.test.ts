/**
 * Issue 3: hostile specifiers and paths through the guest (import, require, fs),
 * a canary outside the root that must never appear; RestrictedError vs
 * ModuleNotFoundError, caught and uncaught; a real npm package under a root.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { RExec, FileSystemHooks, RestrictedError, ModuleNotFoundError, GuestError } from "../../src/index.js";
import { CANARY, dump, makeRoot, settle, write } from "./helpers.js";

function hostileRoot() {
  const made = makeRoot({
    "main.cjs": "module.exports = 'main';",
    "sub/deep/inner.cjs": "module.exports = 'inner';",
    "ok.txt": "inside",
    "probe.cjs": "globalThis.__req = require;",
  });
  const { root, outside, base } = made;
  fs.symlinkSync(path.join(outside, "secret.js"), path.join(root, "link-out.js"));
  fs.symlinkSync(path.join(outside, "secret.txt"), path.join(root, "link-out.txt"));
  fs.symlinkSync(outside, path.join(root, "dir-out"));
  fs.symlinkSync("../outside/secret.js", path.join(root, "rel-link-out.js"));
  fs.mkdirSync(path.join(root, "node_modules"));
  fs.symlinkSync(outside, path.join(root, "node_modules", "pkg-out"));
  write(path.join(root, "node_modules/evil-main/package.json"), JSON.stringify({ main: "../../../secret.js" }));
  write(path.join(root, "node_modules/evil-exports/package.json"), JSON.stringify({ exports: { ".": "./../../../secret.js", "./x": "../../../secret.js" } }));
  return { ...made, abs: path.join(outside, "secret.js"), absTxt: path.join(outside, "secret.txt"), base };
}

test("traversal table: import(), require() and fs.readFileSync refuse or miss every path out of the root; the canary never appears", async () => {
  const { root, abs, absTxt } = hostileRoot();
  const specifiers = [
    "../secret.js", "../../secret.js", "../outside/secret.js", "../../../../../../etc/passwd", "./sub/deep/../../../secret.js",
    "/etc/passwd", "/../secret.js", "/../outside/secret.js", abs, absTxt,
    "file:///etc/passwd", `file://${abs}`, `file://${absTxt}`, "file://localhost/etc/passwd",
    "%2e%2e/secret.js", "%2E%2E%2Fsecret.js", "..%2fsecret.js", "..%2Foutside%2Fsecret.js", "./%2e%2e/outside/secret.js",
    "..\\secret.js", "..\\outside\\secret.js",
    "secret.js\0", "./main.cjs\0../../secret.js", "\0/etc/passwd",
    "./link-out.js", "./link-out.txt", "./dir-out/secret.js", "./dir-out/secret.txt", "./rel-link-out.js", "pkg-out/secret.js", "pkg-out",
    "evil-main", "evil-exports", "evil-exports/x", "evil-exports/../../../secret.js",
    "//etc/passwd", "\\\\?\\C:\\secret.js", "./sub/../../secret.js", "sub/deep/../../../../secret.js",
  ];
  using rx = new RExec({ hooks: new FileSystemHooks({ root }), okWritePaths: ["/"] });
  const outcomes: string[] = [];
  for (const spec of specifiers) {
    const lit = JSON.stringify(spec);
    const probes = {
      import: `import(${lit}).then((m) => 'LOADED ' + JSON.stringify(m), (e) => 'ERR ' + e.name + ': ' + e.message)`,
      require: `import('./probe.cjs').then(() => 0, () => 0).then(() => { try { return 'LOADED ' + JSON.stringify(globalThis.__req(${lit})); } catch (e) { return 'ERR ' + e.name + ': ' + e.message; } })`,
      readFileSync: `import('fs').then((fs) => { try { return 'READ ' + fs.readFileSync(${lit}, 'utf8'); } catch (e) { return 'ERR ' + (e.code || e.name) + ': ' + e.message; } })`,
      promises: `import('fs/promises').then((fsp) => fsp.readFile(${lit}, 'utf8')).then((t) => 'READ ' + t, (e) => 'ERR ' + (e.code || e.name) + ': ' + e.message)`,
      exists: `import('fs').then((fs) => 'EXISTS ' + fs.existsSync(${lit}))`,
      writeFile: `import('fs').then((fs) => { try { fs.writeFileSync(${lit}, 'pwned'); return 'WROTE'; } catch (e) { return 'ERR ' + (e.code || e.name) + ': ' + e.message; } })`,
    };
    for (const [how, code] of Object.entries(probes)) {
      const r = await settle(rx.r_eval(code));
      const text = r.ok ? String(r.value) : `HOST ${dump(r.error)}`;
      outcomes.push(`${how} ${lit} -> ${text}`);
      assert.doesNotMatch(text, new RegExp(CANARY), `${how} ${lit} leaked the canary: ${text}`);
      assert.doesNotMatch(text, /root:x:0:0/, `${how} ${lit} read /etc/passwd`);
      // Known engine bug (see the todo test below): import() truncates a specifier at NUL, loading the in-root prefix.
      if (how === "import" && spec.startsWith("./main.cjs\0") && text === 'LOADED {"default":"main"}') continue;
      assert.doesNotMatch(text, /^(LOADED|READ)/, `${how} ${lit} succeeded: ${text}`);
      // A write may succeed only as a literal file name inside the root (checked below).
      if (how === "writeFile" && text === "WROTE") continue;
      if (how === "exists") assert.equal(text, "EXISTS false", `${how} ${lit}`);
      else assert.match(text, /^ERR .*(access denied|cannot find|ENOENT|not found|no such|ERR_INVALID_ARG|EINVAL|outside)/i, `${how} ${lit}: ${text}`);
    }
  }
  // Nothing was written anywhere outside the root.
  const listing = (dir: string): string[] => fs.readdirSync(dir, { recursive: true }).map(String).sort();
  assert.deepEqual(listing(path.dirname(root)).filter((f) => !f.startsWith("root")), ["outside", "outside/secret.js", "outside/secret.txt", "secret.js", "secret.txt"]);
  assert.deepEqual(listing("/etc").filter((f) => f.includes("pwned")), []);
  assert.equal(fs.readFileSync(abs, "utf8"), `module.exports = ${JSON.stringify(CANARY)};`);
  assert.equal(fs.readFileSync(absTxt, "utf8"), CANARY);
  assert.ok(outcomes.length === specifiers.length * 6);
});

test("import() of a specifier with a NUL byte is refused, not truncated at the NUL", {
  todo: "BUG (engine): the QuickJS binding passes the specifier to normalize as a C string, so import('./main.cjs\\0../x') loads ./main.cjs (inside the root; not an escape)",
}, async () => {
  const { root } = hostileRoot();
  using rx = new RExec({ hooks: new FileSystemHooks({ root }) });
  const text = String(await rx.r_eval("import('./main.cjs\\0../../secret.js').then(() => 'LOADED', (e) => 'ERR ' + e.message)"));
  assert.match(text, /^ERR /);
});

test("traversal: a file:// URL object and fs.promises / callback forms refuse too", async () => {
  const { root, absTxt } = hostileRoot();
  using rx = new RExec({ hooks: new FileSystemHooks({ root }) });
  const text = String(await rx.r_eval(`import('fs').then((fs) => new Promise((res) => {
    const out = [];
    try { out.push(fs.readFileSync(new URL(${JSON.stringify(`file://${absTxt}`)}), 'utf8')); } catch (e) { out.push('E1 ' + e.message); }
    fs.readFile('../outside/secret.txt', 'utf8', (err, data) => {
      out.push(err ? 'E2 ' + err.message : data);
      fs.promises.readdir('/../outside').then((l) => out.push(JSON.stringify(l)), (e) => out.push('E3 ' + e.message)).then(() => res(out.join('\\n')));
    });
  }))`));
  assert.doesNotMatch(text, new RegExp(CANARY));
  assert.doesNotMatch(text, /secret\.(js|txt)"/, "readdir of a directory outside the root listed it");
  assert.match(text, /^E1 /m);
  assert.match(text, /^E2 /m);
  assert.match(text, /^E3 /m);
});

test("RestrictedError (denied, allowWith, flag) vs ModuleNotFoundError (specifier, referrer), uncaught by the guest", async () => {
  const { root } = makeRoot({
    "lib/a.cjs": "require('./nope');",
    "lib/b.mjs": "import './missing.mjs';",
    "lib/c.cjs": "require('child_process');",
    "lib/w.cjs": "require('fs').writeFileSync('/lib/x.txt', 'x');",
  });
  using rx = new RExec({ hooks: new FileSystemHooks({ root }) });
  const builtin = await settle(rx.r_eval("import('child_process')"));
  assert.ok(!builtin.ok && builtin.error instanceof RestrictedError, dump(!builtin.ok && builtin.error));
  const re = builtin.error as RestrictedError;
  assert.match(re.denied, /child_process/);
  assert.match(re.allowWith, /okBuiltinModules/);
  assert.equal(re.flag, "--allow-module child_process");
  assert.ok(!(re instanceof ModuleNotFoundError));

  const viaRequire = await settle(rx.r_import("./lib/c.cjs"));
  assert.ok(!viaRequire.ok && viaRequire.error instanceof RestrictedError, dump(!viaRequire.ok && viaRequire.error));

  const write = await settle(rx.r_import("./lib/w.cjs"));
  assert.ok(!write.ok && write.error instanceof RestrictedError, dump(!write.ok && write.error));
  assert.match((write.error as RestrictedError).denied, /\/lib\/x\.txt/);
  assert.match((write.error as RestrictedError).allowWith, /okWritePaths/);
  assert.equal((write.error as RestrictedError).flag, "--allow-write <dir>");
  assert.equal(fs.existsSync(path.join(root, "lib/x.txt")), false);

  const top = await settle(rx.r_import("./nothing-here.js"));
  assert.ok(!top.ok && top.error instanceof ModuleNotFoundError, dump(!top.ok && top.error));
  assert.equal((top.error as ModuleNotFoundError).specifier, "./nothing-here.js");
  assert.ok(!(top.error instanceof RestrictedError));

  const req = await settle(rx.r_import("./lib/a.cjs"));
  assert.ok(!req.ok && req.error instanceof ModuleNotFoundError, dump(!req.ok && req.error));
  assert.equal((req.error as ModuleNotFoundError).specifier, "./nope");
  assert.equal((req.error as ModuleNotFoundError).referrer, "/lib/a.cjs");
  assert.match(req.error.message, /\.\/nope.*\/lib\/a\.cjs/);

  const esm = await settle(rx.r_import("./lib/b.mjs"));
  assert.ok(!esm.ok && esm.error instanceof ModuleNotFoundError, dump(!esm.ok && esm.error));
  assert.equal((esm.error as ModuleNotFoundError).specifier, "./missing.mjs");
  assert.equal((esm.error as ModuleNotFoundError).referrer, "/lib/b.mjs");

  const node = await settle(rx.r_eval("import('node:not-a-builtin')"));
  assert.ok(!node.ok && node.error instanceof ModuleNotFoundError, dump(!node.ok && node.error));
  // The realm is still usable after each error.
  assert.equal(await rx.r_eval("40 + 2"), 42);
});

test("the guest can catch denials and not-found errors and tell them apart; the host then sees no error", async () => {
  const { root } = makeRoot({
    "probe.cjs": [
      "const out = {};",
      "try { require('child_process'); } catch (e) { out.builtin = [e.name, /access denied/.test(e.message), /okBuiltinModules/.test(e.message)]; }",
      "try { require('./nope'); } catch (e) { out.missing = [e.name, /cannot find module/.test(e.message), e.message.includes('/probe.cjs')]; }",
      "try { require('fs').writeFileSync('/x.txt', 'x'); } catch (e) { out.write = [e.name, /okWritePaths/.test(e.message)]; }",
      "try { require('fs').readFileSync('/nope.txt'); } catch (e) { out.enoent = e.code; }",
      "module.exports = out;",
    ].join("\n"),
    // ESM import failures reach the guest as plain Errors (the engine's module-load failure has name "Error"); the message tells them apart.
    "probe.mjs": "let a, b; try { await import('vm'); } catch (e) { a = e.message; } try { await import('./zzz.mjs'); } catch (e) { b = e.message; } export const r = [a, b];",
  });
  using rx = new RExec({ hooks: new FileSystemHooks({ root }) });
  assert.deepEqual(await rx.r_import("./probe.cjs"), {
    builtin: ["RestrictedError", true, true],
    missing: ["ModuleNotFoundError", true, true],
    write: ["RestrictedError", true],
    enoent: "ENOENT",
  });
  const [a, b] = (await rx.r_import("./probe.mjs")).r as string[];
  assert.match(a!, /^access denied: builtin module "vm"; to allow it, add "vm" to okBuiltinModules/);
  assert.equal(b, 'cannot find module "./zzz.mjs" imported from /probe.mjs');
  // A guest that forges an error with the same message does not turn into a host RestrictedError.
  const forged = await settle(rx.r_eval("throw new Error('access denied: builtin module \"vm\"; to allow it, add \"vm\" to okBuiltinModules (CLI: --allow-module vm)')"));
  assert.ok(!forged.ok && forged.error instanceof GuestError && !(forged.error instanceof RestrictedError));
});

test("a real npm package (resolve.exports) under node_modules in the root: import picks the `import` condition, require the `require` one", async () => {
  const { root } = makeRoot({
    "use.mjs": "import { exports as resolveExports, __which } from 'resolve.exports';\nexport const r = resolveExports({ name: 'x', exports: { '.': { import: './m.mjs', require: './c.js' } } }, '.', { require: false });\nexport const which = __which;",
    "use.cjs": "const re = require('resolve.exports');\nmodule.exports = { r: re.exports({ name: 'x', exports: { '.': { import: './m.mjs', require: './c.js' } } }, '.', { require: true }), which: re.__which, pkg: require('resolve.exports/package.json').name };",
    "use-path.cjs": "const p = require('path-browserify'); module.exports = p.join('/a/b', '../c', 'd.js');",
  });
  const src = path.join(import.meta.dirname, "../../node_modules/resolve.exports");
  const dst = path.join(root, "node_modules/resolve.exports");
  fs.cpSync(src, dst, { recursive: true });
  fs.appendFileSync(path.join(dst, "dist/index.mjs"), "\nexport const __which = 'import';\n");
  fs.appendFileSync(path.join(dst, "dist/index.js"), "\nexports.__which = 'require';\n");
  fs.cpSync(path.join(import.meta.dirname, "../../node_modules/path-browserify"), path.join(root, "node_modules/path-browserify"), { recursive: true });
  using rx = new RExec({ hooks: new FileSystemHooks({ root }) });
  const esm = await rx.r_import("./use.mjs");
  assert.deepEqual(esm.r, ["./m.mjs"]);
  assert.equal(esm.which, "import");
  const cjs = await rx.r_import("./use.cjs");
  assert.deepEqual(cjs, { r: ["./c.js"], which: "require", pkg: "resolve.exports" });
  assert.equal(await rx.r_eval("import('./use-path.cjs').then(m => m.default)"), "/a/c/d.js");
  // Bare import from the host side too.
  const direct = await rx.r_import("resolve.exports");
  assert.equal(typeof direct.resolve, "function");
  assert.deepEqual(await (direct.exports as (...a: unknown[]) => Promise<unknown>)({ name: "y", exports: "./main.js" }), ["./main.js"]);
});
