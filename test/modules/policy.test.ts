/**
 * Issue 3 policy: okBuiltinModules (default, empty, subclass), the guest fs
 * (sync/callback/promises, read-only by default, okWritePaths), the seed's
 * r_open subclass, restricted process, okEnv, okProcessNames, nokBuiltinNames.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { RExec, FileSystemHooks, MemoryHooks, RestrictedError, SystemExit, type OpenMode } from "../../src/index.js";
import { CANARY, makeRoot, settle } from "./helpers.js";

const DEFAULT_OK = ["path", "util", "events", "assert", "url", "querystring", "string_decoder", "buffer", "fs"];

test("okBuiltinModules default: each listed module loads by bare name and node: (import and require); others are RestrictedError", async () => {
  assert.deepEqual([...RExec.okBuiltinModules].sort(), [...DEFAULT_OK].sort());
  using rx = new RExec();
  for (const name of DEFAULT_OK) {
    for (const spec of [name, `node:${name}`]) {
      const viaImport = await rx.r_eval(`import(${JSON.stringify(spec)}).then((m) => typeof m.default)`);
      assert.ok(viaImport === "object" || viaImport === "function", `${spec}: ${String(viaImport)}`);
    }
  }
  assert.equal(await rx.r_eval("import('node:path').then(({ default: p }) => p.join('a', '..', 'b'))"), "b");
  assert.equal(await rx.r_eval("import('events').then(({ EventEmitter }) => { const e = new EventEmitter(); let n = 0; e.on('x', (v) => n += v); e.emit('x', 2); return n; })"), 2);
  assert.equal(await rx.r_eval("import('buffer').then(({ Buffer }) => Buffer.from('hi').toString('hex'))"), "6869");
  assert.equal(await rx.r_eval("import('querystring').then((q) => q.stringify({ a: 1, b: 'x y' }))"), "a=1&b=x%20y");
  assert.equal(await rx.r_eval("import('assert').then(({ default: a }) => { try { a.equal(1, 2); } catch (e) { return e.name; } })"), "AssertionError");
  for (const denied of ["child_process", "node:child_process", "vm", "net", "os", "worker_threads", "http", "node:process", "module", "inspector"]) {
    const r = await settle(rx.r_eval(`import(${JSON.stringify(denied)})`));
    assert.ok(!r.ok && r.error instanceof RestrictedError, `${denied}: ${String(!r.ok && r.error)}`);
  }
});

test("okBuiltinModules: [] denies everything including fs; a subclass overriding the static list; the option overrides the subclass", async () => {
  using none = new RExec({ okBuiltinModules: [] });
  for (const name of [...DEFAULT_OK, "node:fs", "fs/promises"]) {
    const r = await settle(none.r_eval(`import(${JSON.stringify(name)})`));
    assert.ok(!r.ok && r.error instanceof RestrictedError, `${name}: ${String(!r.ok && r.error)}`);
    assert.match((r.error as RestrictedError).allowWith, /okBuiltinModules/);
  }
  class PathOnly extends RExec {
    static override okBuiltinModules = ["path"];
  }
  using p = new PathOnly();
  assert.equal(await p.r_eval("import('path').then((m) => m.default.basename('/a/b.js'))"), "b.js");
  await assert.rejects(p.r_eval("import('util')"), RestrictedError);
  await assert.rejects(p.r_eval("import('fs')"), RestrictedError);
  using q = new PathOnly({ okBuiltinModules: ["util"] });
  await assert.rejects(q.r_eval("import('path')"), RestrictedError);
  assert.equal(await q.r_eval("import('util').then((m) => m.default.format('%d!', 3))"), "3!");
  // Granting a builtin that has no sandboxed implementation is not-found, never the host module.
  using c = new RExec({ okBuiltinModules: ["child_process"] });
  const r = await settle(c.r_eval("import('child_process').then((m) => typeof m.default.execSync)"));
  assert.ok(!r.ok, `child_process must not load: ${String(r.ok && r.value)}`);
  assert.equal(r.error instanceof RestrictedError, false);
});

test("fs: sync, callback and promises forms read inside the root; read-only by default", async () => {
  const { root } = makeRoot({ "data/a.txt": "alpha", "data/b.bin": "\u0001\u0002", "data/sub/c.txt": "c" });
  using rx = new RExec({ hooks: new FileSystemHooks({ root }) });
  const r = await rx.r_eval(`(async () => {
    const fs = await import('fs');
    const fsp = await import('fs/promises');
    const cb = (fn, ...a) => new Promise((res, rej) => fn(...a, (e, v) => e ? rej(e) : res(v)));
    return {
      sync: fs.readFileSync('/data/a.txt', 'utf8'),
      rel: fs.readFileSync('data/a.txt', { encoding: 'utf8' }),
      bytes: [...fs.readFileSync('/data/b.bin')],
      isBuffer: (await import('buffer')).Buffer.isBuffer(fs.readFileSync('/data/b.bin')),
      dir: fs.readdirSync('/data').sort(),
      stat: [fs.statSync('/data').isDirectory(), fs.statSync('/data/a.txt').isFile(), fs.statSync('/data/a.txt').size],
      exists: [fs.existsSync('/data/a.txt'), fs.existsSync('/nope'), fs.existsSync('/data')],
      cb: await cb(fs.readFile, '/data/sub/c.txt', 'utf8'),
      cbdir: (await cb(fs.readdir, '/data/sub')),
      p: await fsp.readFile('/data/a.txt', 'utf8'),
      pstat: (await fsp.stat('/data/sub/c.txt')).size,
      pdir: (await fs.promises.readdir('/')).sort(),
      enoent: await fsp.readFile('/missing.txt').then(() => 'no', (e) => e.code),
      enoentSync: (() => { try { fs.statSync('/missing'); } catch (e) { return e.code; } })(),
    };
  })()`);
  assert.deepEqual(r, {
    sync: "alpha", rel: "alpha", bytes: [1, 2], isBuffer: true, dir: ["a.txt", "b.bin", "sub"],
    stat: [true, true, 5], exists: [true, false, true], cb: "c", cbdir: ["c.txt"], p: "alpha", pstat: 1,
    pdir: ["data"], enoent: "ENOENT", enoentSync: "ENOENT",
  });
  // Writes are denied by default, in every form, and nothing is written.
  for (const code of [
    "import('fs').then((fs) => fs.writeFileSync('/data/new.txt', 'x'))",
    "import('fs').then((fs) => new Promise((res, rej) => fs.writeFile('/data/new.txt', 'x', (e) => e ? rej(e) : res())))",
    "import('fs/promises').then((fsp) => fsp.writeFile('/data/new.txt', 'x'))",
    "import('fs').then((fs) => fs.appendFileSync('/data/a.txt', 'x'))",
    "import('fs').then((fs) => fs.mkdirSync('/data/newdir'))",
    "import('fs').then((fs) => fs.unlinkSync('/data/a.txt'))",
  ]) {
    await assert.rejects(rx.r_eval(code), RestrictedError, code);
  }
  assert.equal(fs.existsSync(path.join(root, "data/new.txt")), false);
  assert.equal(fs.existsSync(path.join(root, "data/newdir")), false);
  assert.equal(fs.readFileSync(path.join(root, "data/a.txt"), "utf8"), "alpha");
});

test("fs: okWritePaths grants writes under one directory only (sync, callback, promises, append); never a prefix sibling", async () => {
  const { root } = makeRoot({ "out/.keep": "", "outside-sibling/.keep": "", "ro/a.txt": "ro" });
  using rx = new RExec({ hooks: new FileSystemHooks({ root }), okWritePaths: ["/out/"] });
  await rx.r_eval(`(async () => {
    const fs = await import('fs');
    fs.writeFileSync('/out/s.txt', 'sync');
    fs.appendFileSync('/out/s.txt', '+more');
    await new Promise((res, rej) => fs.writeFile('/out/cb.txt', 'cb', (e) => e ? rej(e) : res()));
    await fs.promises.writeFile('/out/p.txt', new Uint8Array([104, 105]));
    fs.mkdirSync('/out/d');
    fs.writeFileSync('out/d/rel.txt', 'rel');
  })()`);
  assert.equal(fs.readFileSync(path.join(root, "out/s.txt"), "utf8"), "sync+more");
  assert.equal(fs.readFileSync(path.join(root, "out/cb.txt"), "utf8"), "cb");
  assert.equal(fs.readFileSync(path.join(root, "out/p.txt"), "utf8"), "hi");
  assert.equal(fs.readFileSync(path.join(root, "out/d/rel.txt"), "utf8"), "rel");
  for (const target of ["/outside-sibling/x.txt", "/out-x.txt", "/outx/y.txt", "/ro/a.txt", "/out/../ro/a.txt", "/x.txt", "../out/../../x.txt"]) {
    const r = await settle(rx.r_eval(`import('fs').then((fs) => fs.writeFileSync(${JSON.stringify(target)}, 'evil'))`));
    assert.ok(!r.ok && r.error instanceof RestrictedError, `${target}: ${String(!r.ok && r.error)}`);
  }
  assert.equal(fs.readFileSync(path.join(root, "ro/a.txt"), "utf8"), "ro");
  assert.equal(fs.existsSync(path.join(root, "outside-sibling/x.txt")), false);
});

/** The seed's example: a subclass that allows writes only under one directory. */
class TmpOnly extends RExec {
  readonly asked: Array<[string, string]> = [];
  override r_open(file: string, mode: OpenMode): void {
    this.asked.push([file, mode]);
    if (mode === "r") return;
    if (mode !== "w" && mode !== "a") throw new RestrictedError(`opening ${file} with mode ${String(mode)}`, "use r, w or a");
    if (!file.startsWith("/tmp/")) throw new RestrictedError(`write to ${file}`, "write under /tmp/");
  }
}

test("the seed's example: a subclass overriding r_open allows writes only under /tmp; refuses .. tricks, symlinks out, unknown modes", async () => {
  const { root, outside } = makeRoot({ "tmp/.keep": "", "etc/conf.txt": "conf" });
  fs.symlinkSync(path.join(root, "etc"), path.join(root, "tmp/link-to-etc"));
  fs.symlinkSync(outside, path.join(root, "tmp/link-out"));
  fs.symlinkSync(path.join(root, "etc/conf.txt"), path.join(root, "tmp/conf-link.txt"));
  using rx = new TmpOnly({ hooks: new FileSystemHooks({ root }) });
  await rx.r_eval("import('fs').then((fs) => { fs.writeFileSync('/tmp/ok.txt', 'ok'); fs.appendFileSync('/tmp/ok.txt', '!'); fs.writeFileSync('/tmp/../tmp/again.txt', 'again'); })");
  assert.equal(fs.readFileSync(path.join(root, "tmp/ok.txt"), "utf8"), "ok!");
  assert.equal(fs.readFileSync(path.join(root, "tmp/again.txt"), "utf8"), "again");
  assert.ok(rx.asked.some(([p, m]) => p === "/tmp/ok.txt" && m === "w"));
  assert.ok(rx.asked.some(([p, m]) => p === "/tmp/ok.txt" && m === "a"));
  assert.ok(rx.asked.some(([p]) => p === "/tmp/again.txt"), "r_open sees the canonical path, not the .. form");
  const tricks = [
    "/tmp/../etc/conf.txt", "tmp/../etc/conf.txt", "/tmp/./../etc/conf.txt", "/tmp/%2e%2e/etc/conf.txt".replace("%2e%2e", ".."),
    "/tmp/link-to-etc/conf.txt", "/tmp/conf-link.txt", "/tmp/link-out/secret.txt", "/tmpx/a.txt", "/tmp", "/../tmp/../etc/x.txt",
    "/tmp/\0/../etc/conf.txt",
  ];
  for (const target of tricks) {
    const r = await settle(rx.r_eval(`import('fs').then((fs) => fs.writeFileSync(${JSON.stringify(target)}, 'evil'))`));
    assert.equal(r.ok, false, `${JSON.stringify(target)} was written`);
  }
  assert.equal(fs.readFileSync(path.join(root, "etc/conf.txt"), "utf8"), "conf");
  assert.equal(fs.readFileSync(path.join(outside, "secret.txt"), "utf8"), CANARY);
  assert.deepEqual(fs.readdirSync(path.join(root, "etc")), ["conf.txt"]);
  // Unknown modes are refused by the subclass (and by the default r_open).
  assert.throws(() => rx.r_open("/tmp/x", "rw" as OpenMode), RestrictedError);
  assert.throws(() => rx.r_open("/tmp/x", "x" as OpenMode), RestrictedError);
  using plain = new RExec({ okWritePaths: ["/tmp"] });
  assert.throws(() => plain.r_open("/tmp/x", "r+" as OpenMode), RestrictedError);
  assert.doesNotThrow(() => plain.r_open("/tmp/x", "w"));
  assert.throws(() => plain.r_open("/tmpx", "w"), RestrictedError);
  // A subclass that denies reads is asked for reads too.
  class NoRead extends RExec {
    override r_open(file: string, mode: OpenMode): void {
      if (file.startsWith("/etc")) throw new RestrictedError(`read of ${file}`, "no");
      super.r_open(file, mode);
    }
  }
  using nr = new NoRead({ hooks: new FileSystemHooks({ root }) });
  await assert.rejects(nr.r_eval("import('fs').then((fs) => fs.readFileSync('/etc/conf.txt', 'utf8'))"), RestrictedError);
  await assert.rejects(nr.r_eval("import('fs').then((fs) => fs.readFileSync('/tmp/link-to-etc/conf.txt', 'utf8'))"), RestrictedError);
});

test("process: argv, env only from okEnv (a host variable not listed stays invisible), exit → SystemExit, virtual cwd, no platform/version unless listed", async () => {
  process.env.REXEC_TEST_VISIBLE = "visible-value";
  process.env.REXEC_TEST_HIDDEN = "hidden-" + CANARY;
  try {
    using rx = new RExec({ okEnv: ["REXEC_TEST_VISIBLE", "REXEC_TEST_UNSET"], argv: ["--flag", "x"], hooks: new FileSystemHooks({ root: makeRoot({}).root }) });
    const r = (await rx.r_eval(`({
      argv: process.argv,
      env: process.env,
      keys: Object.keys(process.env),
      hidden: process.env.REXEC_TEST_HIDDEN,
      path: process.env.PATH,
      home: process.env.HOME,
      cwd: process.cwd(),
      platform: process.platform, version: process.version, versions: process.versions, pid: process.pid,
      binding: typeof process.binding, mainModule: typeof process.mainModule, dlopen: typeof process.dlopen,
      memoryUsage: typeof process.memoryUsage, kill: typeof process.kill, chdir: typeof process.chdir, features: typeof process.features,
      ctor: process.constructor === Object,
    })`)) as Record<string, unknown>;
    assert.deepEqual(r.argv, ["rexec", "<script>", "--flag", "x"]);
    assert.deepEqual(r.env, { REXEC_TEST_VISIBLE: "visible-value" });
    assert.deepEqual(r.keys, ["REXEC_TEST_VISIBLE"]);
    assert.equal(r.hidden, undefined);
    assert.equal(r.path, undefined);
    assert.equal(r.home, undefined);
    assert.equal(r.cwd, "/");
    assert.notEqual(r.cwd, process.cwd());
    for (const k of ["platform", "version", "versions", "pid"]) assert.equal(r[k], undefined, k);
    for (const k of ["binding", "mainModule", "dlopen", "memoryUsage", "kill", "chdir", "features"]) assert.equal(r[k], "undefined", k);
    assert.equal(await rx.r_eval("JSON.stringify(globalThis).includes('hidden') || JSON.stringify(process).includes('hidden')"), false);
    // Setting env in the guest changes nothing on the host.
    await rx.r_exec("process.env.REXEC_TEST_VISIBLE = 'changed'; process.env.NEW_VAR = 'x'");
    assert.equal(process.env.REXEC_TEST_VISIBLE, "visible-value");
    assert.equal(process.env.NEW_VAR, undefined);
    // exit → SystemExit with the code; nothing after it runs; the host keeps running.
    const e = await settle(rx.r_exec("process.exit(3); globalThis.after = 1;"));
    assert.ok(!e.ok && e.error instanceof SystemExit, String(!e.ok && e.error));
    assert.equal((e.error as SystemExit).code, 3);
    const e2 = await settle(rx.r_exec("try { exit(0); } catch (x) {} globalThis.after2 = 1;"));
    assert.ok(!e2.ok && e2.error instanceof SystemExit && e2.error.code === 0, String(!e2.ok && e2.error));
    // platform/version appear only when listed.
    using listed = new RExec({ okProcessNames: ["platform", "version", "env"] });
    assert.deepEqual(await listed.r_eval("[process.platform, process.version, typeof process.exit, typeof process.argv, typeof process.cwd]"),
      ["rexec", "v0.0.0-rexec", "undefined", "undefined", "undefined"]);
    assert.notEqual(await listed.r_eval("process.platform"), process.platform);
    // A subclass's static okEnv applies; the option overrides it.
    class EnvSub extends RExec { static override okEnv = ["REXEC_TEST_HIDDEN"]; }
    using sub = new EnvSub();
    assert.equal(await sub.r_eval("process.env.REXEC_TEST_HIDDEN"), "hidden-" + CANARY);
    using sub2 = new EnvSub({ okEnv: [] });
    assert.equal(await sub2.r_eval("process.env.REXEC_TEST_HIDDEN"), undefined);
  } finally {
    delete process.env.REXEC_TEST_VISIBLE;
    delete process.env.REXEC_TEST_HIDDEN;
  }
});

test("process.cwd is the hooks' virtual cwd (several roots → /root0); relative fs paths use it", async () => {
  const a = makeRoot({ "a.txt": "A" }).root;
  const b = makeRoot({ "b.txt": "B" }).root;
  using rx = new RExec({ hooks: new FileSystemHooks({ root: [a, b] }) });
  assert.equal(await rx.r_eval("process.cwd()"), "/root0");
  assert.deepEqual(await rx.r_eval("import('fs').then((fs) => [fs.readFileSync('a.txt', 'utf8'), fs.readFileSync('/root1/b.txt', 'utf8'), fs.readFileSync('../root1/b.txt', 'utf8')])"), ["A", "B", "B"]);
  using mem = new RExec({ hooks: new MemoryHooks({ files: { "/x.js": "" } }) });
  assert.equal(typeof (await mem.r_eval("process.cwd()")), "string");
});

test("nokBuiltinNames removes globals (option and subclass); other globals stay", async () => {
  using rx = new RExec({ nokBuiltinNames: ["eval", "Function", "Date", "console"] });
  assert.deepEqual(await rx.r_eval("[typeof eval, typeof Date, typeof console, typeof JSON, typeof Math, typeof Function]"),
    ["undefined", "undefined", "undefined", "object", "object", "undefined"]);
  class NoProcess extends RExec { static override nokBuiltinNames = ["process", "exit"]; }
  using np = new NoProcess();
  assert.deepEqual(await np.r_eval("[typeof process, typeof exit, typeof console]"), ["undefined", "undefined", "object"]);
  using plain = new RExec();
  assert.deepEqual(await plain.r_eval("[typeof eval, typeof Date, typeof process, typeof exit]"), ["function", "function", "object", "function"]);
});

test("fs: text with NUL characters and non-ASCII is written and read back whole", async () => {
  const { root } = makeRoot({ "o/.keep": "" });
  using rx = new RExec({ hooks: new FileSystemHooks({ root }), okWritePaths: ["/o"] });
  const text = "a\u0000b\u00e9\u{1F600}\u0000";
  await rx.r_eval(`import('fs').then((fs) => { fs.writeFileSync('/o/a.txt', ${JSON.stringify(text)}); fs.appendFileSync('/o/a.txt', 'z\\0'); })`);
  assert.equal(fs.readFileSync(path.join(root, "o/a.txt"), "utf8"), text + "z\u0000");
  assert.equal(await rx.r_eval("import('fs').then((fs) => fs.readFileSync('/o/a.txt', 'utf8'))"), text + "z\u0000");
});
