import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileSystemHooks } from "../../src/loader/hooks/file-system-hooks.js";
import { RootJail } from "../../src/loader/hooks/root-jail.js";
import { RestrictedError } from "../../src/host/errors.js";
import { HOSTILE } from "./hostile-specifiers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rexec-fsh-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A fresh sandbox: <base>/root (the hooks' root) and <base>/outside (with secrets). */
function setup(name: string): { root: string; outside: string } {
  const base = path.join(tmp, name);
  const root = path.join(base, "root");
  const outside = path.join(base, "outside");
  const write = (p: string, text: string) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
  };
  write(path.join(base, "secret.js"), "SECRET");
  write(path.join(outside, "secret.js"), "SECRET");
  write(path.join(outside, "a.js"), "SECRET");
  write(path.join(root, "main.ts"), "export const main: number = 1");
  write(path.join(root, "lib/util.js"), "module.exports = 'util'");
  write(path.join(root, "lib/index.js"), "module.exports = 'index'");
  write(path.join(root, "real.js"), "REAL");
  write(path.join(root, "sub/a.js"), "INSIDE");
  write(path.join(root, "node_modules/legacy/package.json"), JSON.stringify({ main: "lib/entry" }));
  write(path.join(root, "node_modules/legacy/lib/entry.js"), "module.exports = 'legacy'");
  write(path.join(root, "node_modules/noindex/index.js"), "");
  write(path.join(root, "node_modules/escape/package.json"), JSON.stringify({ main: "../../../secret.js", exports: undefined }));
  write(path.join(root, "node_modules/escape-exports/package.json"), JSON.stringify({ exports: { ".": "./../../../secret.js", "./x": "../../../secret.js" } }));
  fs.symlinkSync(path.join(outside, "secret.js"), path.join(root, "link-out.js"));
  fs.symlinkSync(outside, path.join(root, "dir-out"));
  fs.symlinkSync(outside, path.join(root, "node_modules/pkg-out"));
  fs.symlinkSync(path.join(root, "real.js"), path.join(root, "link-in.js"));
  fs.symlinkSync("../real.js", path.join(root, "lib/rel-link-in.js"));
  fs.symlinkSync(path.join(root, "lib"), path.join(root, "lib-link"));
  fs.symlinkSync(path.join(root, "nowhere"), path.join(root, "dangling.js"));
  return { root, outside };
}

/** Never-the-secret check: resolve, and if an id comes back, loading it must not give outside content. */
async function resolveSafely(h: FileSystemHooks, spec: string, referrer?: string): Promise<"restricted" | "notfound" | string> {
  let id: string | undefined;
  try {
    id = h.resolve(spec, referrer, "import");
  } catch (e) {
    assert.ok(e instanceof RestrictedError, `${JSON.stringify(spec)} threw ${String(e)}`);
    return "restricted";
  }
  if (id === undefined) return "notfound";
  assert.doesNotMatch(h.load(id).source, /SECRET/, `${JSON.stringify(spec)} reached a file outside the root`);
  return id;
}

test("hostile specifier table against FileSystemHooks", async () => {
  const { root } = setup("hostile");
  const h = new FileSystemHooks({ root });
  for (const [spec, expected] of HOSTILE) {
    assert.equal(await resolveSafely(h, spec), expected, JSON.stringify(spec));
  }
  // The host's absolute paths mean nothing in the guest's view.
  const hostSecret = path.join(root, "..", "secret.js");
  assert.equal(await resolveSafely(h, hostSecret), "notfound");
  assert.equal(await resolveSafely(h, `file://${hostSecret}`), "restricted");
  assert.equal(await resolveSafely(h, path.join(root, "real.js")), "notfound");
});

test("symlinks: out of the root refused, inside the root canonicalized", async () => {
  const { root } = setup("symlinks");
  const h = new FileSystemHooks({ root });
  assert.equal(await resolveSafely(h, "./link-out.js"), "notfound");
  assert.equal(await resolveSafely(h, "./link-out"), "notfound");
  assert.equal(await resolveSafely(h, "./dir-out/secret.js"), "notfound");
  assert.equal(await resolveSafely(h, "./dir-out/a"), "notfound");
  assert.equal(await resolveSafely(h, "pkg-out/secret.js"), "notfound");
  assert.equal(await resolveSafely(h, "./dangling.js"), "notfound");
  // loading an escaping id directly is refused
  assert.throws(() => h.load("/link-out.js"), RestrictedError);
  assert.throws(() => h.load("/dir-out/secret.js"), RestrictedError);
  // links that stay inside are followed, and the id is the target's canonical id
  assert.equal(h.resolve("./link-in.js", undefined, "import"), "/real.js");
  assert.equal(h.resolve("./lib/rel-link-in.js", undefined, "import"), "/real.js");
  assert.equal(h.resolve("./lib-link/util", undefined, "require"), "/lib/util.js");
  assert.equal(h.load("/real.js").source, "REAL");
});

test("TOCTOU: a directory swapped for a symlink out after resolve, before load", () => {
  const { root } = setup("toctou-dir");
  const h = new FileSystemHooks({ root });
  const id = h.resolve("./sub/a.js", undefined, "import");
  assert.equal(id, "/sub/a.js");
  fs.renameSync(path.join(root, "sub"), path.join(root, "sub-old"));
  fs.symlinkSync(path.join(root, "..", "outside"), path.join(root, "sub"));
  assert.throws(() => h.load(id!), RestrictedError);
});

test("TOCTOU race: file swapped for a symlink between the check and the open (O_NOFOLLOW)", () => {
  const { root, outside } = setup("toctou-file");
  let swapped = false;
  const jail = new RootJail(root, {
    beforeOpen(hostPath) {
      if (hostPath.endsWith(`${path.sep}real.js`)) {
        fs.unlinkSync(hostPath);
        fs.symlinkSync(path.join(outside, "secret.js"), hostPath);
        swapped = true;
      }
    },
  });
  assert.throws(() => jail.readFile("/real.js", 1e6), (e: NodeJS.ErrnoException) => e.code === "ELOOP" && !e.message.includes(root));
  assert.ok(swapped);
});

for (const useProcFd of [true, false]) {
  test(`TOCTOU race: parent directory swapped between the check and the open (verify via ${useProcFd ? "/proc/self/fd" : "fstat dev/ino"})`, (t) => {
    const { root, outside } = setup(`toctou-parent-${useProcFd}`);
    const jail = new RootJail(root, {
      useProcFd,
      beforeOpen(hostPath) {
        if (hostPath.endsWith(`${path.sep}sub${path.sep}a.js`)) {
          fs.renameSync(path.join(root, "sub"), path.join(root, "sub-old"));
          fs.symlinkSync(outside, path.join(root, "sub"));
        }
      },
    });
    if (useProcFd && !jail.procFd) return t.skip("no /proc/self/fd on this system");
    assert.equal(jail.procFd, useProcFd);
    assert.throws(() => jail.readFile("/sub/a.js", 1e6), RestrictedError);
  });

  test(`TOCTOU race: parent directory swapped before a write (${useProcFd ? "/proc/self/fd" : "fstat dev/ino"})`, (t) => {
    const { root, outside } = setup(`toctou-write-${useProcFd}`);
    const jail = new RootJail(root, {
      useProcFd,
      beforeOpen(hostPath) {
        if (hostPath.endsWith(`${path.sep}sub`)) {
          fs.renameSync(path.join(root, "sub"), path.join(root, "sub-old"));
          fs.symlinkSync(outside, path.join(root, "sub"));
        }
      },
    });
    if (useProcFd && !jail.procFd) return t.skip("no /proc/self/fd on this system");
    assert.throws(() => jail.writeFile("/sub/a.js", enc("PWNED"), false));
    assert.equal(fs.readFileSync(path.join(outside, "a.js"), "utf8"), "SECRET");
  });
}

test("a real npm package (resolve.exports, with exports import/require conditions) under the root", () => {
  const { root } = setup("npm");
  const src = path.join(import.meta.dirname, "..", "..", "node_modules", "resolve.exports");
  fs.cpSync(src, path.join(root, "node_modules", "resolve.exports"), { recursive: true });
  const h = new FileSystemHooks({ root });
  const esm = h.resolve("resolve.exports", "/main.ts", "import");
  const cjs = h.resolve("resolve.exports", "/main.ts", "require");
  assert.equal(esm, "/node_modules/resolve.exports/dist/index.mjs");
  assert.equal(cjs, "/node_modules/resolve.exports/dist/index.js");
  assert.equal(h.load(esm!).format, "module");
  assert.equal(h.load(cjs!).format, undefined); // no "type" in its package.json: the loader detects
  assert.match(h.load(cjs!).source, /exports/);
  assert.equal(h.resolve("resolve.exports/package.json", "/main.ts", "import"), "/node_modules/resolve.exports/package.json");
  // present on disk but not exported
  assert.equal(h.resolve("resolve.exports/dist/index.js", "/main.ts", "import"), undefined);
});

test("package main, index probing, escaping main/exports", async () => {
  const { root } = setup("pkgs");
  const h = new FileSystemHooks({ root });
  assert.equal(h.resolve("legacy", "/lib/util.js", "require"), "/node_modules/legacy/lib/entry.js");
  assert.equal(h.resolve("noindex", undefined, "import"), "/node_modules/noindex/index.js");
  assert.equal(h.resolve("./lib", undefined, "require"), "/lib/index.js");
  assert.equal(h.resolve("./main", undefined, "import"), "/main.ts");
  assert.equal(await resolveSafely(h, "escape"), "notfound");
  assert.equal(await resolveSafely(h, "escape-exports"), "notfound");
  assert.equal(await resolveSafely(h, "escape-exports/x"), "notfound");
  const m = h.load("/main.ts");
  assert.equal(m.typescript, true);
  assert.equal(m.format, undefined);
  assert.equal(h.cwd, "/");
});

test("ids and errors never show host paths", () => {
  const { root } = setup("nohost");
  const h = new FileSystemHooks({ root });
  for (const spec of ["./main.ts", "./lib", "legacy", "./link-in.js"]) {
    const id = h.resolve(spec, undefined, "require");
    assert.ok(id !== undefined && id.startsWith("/") && !id.includes(tmp), `${spec} → ${id}`);
  }
  const messages: string[] = [];
  const grab = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      messages.push(String((e as Error).message), String((e as { path?: string }).path ?? ""));
      return;
    }
    assert.fail("expected an error");
  };
  grab(() => h.load("/missing.js"));
  grab(() => h.load("/link-out.js"));
  grab(() => h.load("/lib"));
  grab(() => h.fs.readFile("/missing"));
  grab(() => h.fs.readdir("/missing"));
  grab(() => h.fs.writeFile("/nodir/x", enc(""), false));
  grab(() => h.fs.mkdir("/lib"));
  for (const m of messages) assert.ok(!m.includes(tmp) && !m.includes(os.tmpdir()), m);
  assert.ok(messages.some((m) => m === "ENOENT: no such file or directory, open '/missing.js'"));
});

test("several roots: virtual /root<i> prefixes", async () => {
  const a = setup("multi-a").root;
  const b = setup("multi-b").root;
  fs.writeFileSync(path.join(b, "only-b.js"), "B");
  const h = new FileSystemHooks({ root: [a, b] });
  assert.equal(h.cwd, "/root0");
  assert.equal(h.resolve("./main.ts", undefined, "import"), "/root0/main.ts");
  assert.equal(h.resolve("/root1/only-b.js", undefined, "import"), "/root1/only-b.js");
  assert.equal(h.resolve("../root1/only-b", "/root0/main.ts", "import"), "/root1/only-b.js");
  assert.equal(h.resolve("legacy", "/root1/main.ts", "require"), "/root1/node_modules/legacy/lib/entry.js");
  assert.equal(await resolveSafely(h, "../../secret.js"), "restricted");
  assert.equal(await resolveSafely(h, "/secret.js"), "notfound");
  assert.equal(await resolveSafely(h, "/root2/main.ts"), "notfound");
  assert.equal(h.load("/root1/only-b.js").source, "B");
  assert.deepEqual(h.fs.readdir("/"), ["root0", "root1"]);
  assert.equal(h.fs.stat("/")?.kind, "directory");
  assert.equal(h.fs.canonicalPath("x.txt", "/"), undefined); // the virtual top is not writable
  assert.equal(h.fs.canonicalPath("x.txt", "/root1"), "/root1/x.txt");
});

test("fs: canonical paths, read/write/append, readdir, stat, mkdir, unlink on real files", () => {
  const { root, outside } = setup("fsops");
  const h = new FileSystemHooks({ root });
  const f = h.fs!;
  assert.equal(f.canonicalPath("lib/util.js", "/"), "/lib/util.js");
  assert.equal(f.canonicalPath("util.js", "/lib-link"), "/lib/util.js");
  assert.equal(f.canonicalPath("link-in.js", "/"), "/real.js");
  assert.equal(f.canonicalPath("new.txt", "/lib"), "/lib/new.txt");
  assert.equal(f.canonicalPath("../x", "/"), undefined);
  assert.equal(f.canonicalPath("a\0b", "/"), undefined);
  assert.equal(f.canonicalPath("a\\..\\b", "/"), undefined);
  assert.equal(f.canonicalPath("link-out.js", "/"), undefined);
  assert.equal(f.canonicalPath("dir-out/new.txt", "/"), undefined);
  assert.equal(f.canonicalPath("dangling.js", "/"), undefined);
  assert.equal(f.canonicalPath("nodir/new.txt", "/"), undefined);

  f.writeFile("/lib/new.txt", enc("hello"), false);
  f.writeFile("/lib/new.txt", enc(" world"), true);
  assert.equal(fs.readFileSync(path.join(root, "lib/new.txt"), "utf8"), "hello world");
  assert.equal(dec(f.readFile("/lib/new.txt")), "hello world");
  f.writeFile("/lib/new.txt", enc("x"), false);
  assert.equal(dec(f.readFile("/lib/new.txt")), "x");
  assert.deepEqual(f.readdir("/lib"), ["index.js", "new.txt", "rel-link-in.js", "util.js"]);
  assert.deepEqual(f.stat("/lib/new.txt") && { kind: f.stat("/lib/new.txt")!.kind, size: f.stat("/lib/new.txt")!.size }, { kind: "file", size: 1 });
  assert.equal(f.stat("/lib")?.kind, "directory");
  assert.equal(f.stat("/link-out.js"), undefined);
  assert.equal(f.stat("/missing"), undefined);
  f.mkdir("/made");
  assert.ok(fs.statSync(path.join(root, "made")).isDirectory());
  assert.throws(() => f.mkdir("/made"), { code: "EEXIST" });
  f.unlink("/lib/new.txt");
  assert.ok(!fs.existsSync(path.join(root, "lib/new.txt")));
  // writing "through" a symlink at the target is refused (O_NOFOLLOW), and nothing outside changes
  assert.throws(() => f.writeFile("/link-out.js", enc("PWNED"), false), { code: "ELOOP" });
  assert.throws(() => f.writeFile("/dangling.js", enc("PWNED"), false), { code: "ELOOP" });
  assert.ok(!fs.existsSync(path.join(root, "nowhere")));
  assert.throws(() => f.readdir("/dir-out"));
  assert.throws(() => f.readFile("/dir-out/secret.js"), RestrictedError);
  assert.equal(fs.readFileSync(path.join(outside, "secret.js"), "utf8"), "SECRET");
  // unlinking a link removes the link only
  f.unlink("/link-out.js");
  assert.equal(fs.readFileSync(path.join(outside, "secret.js"), "utf8"), "SECRET");
});

test("a FIFO in the root cannot hang the host, and huge files are refused", { timeout: 5000 }, (t) => {
  const { root } = setup("special");
  fs.writeFileSync(path.join(root, "big.js"), "x".repeat(2048));
  const h = new FileSystemHooks({ root, maxFileBytes: 1024 });
  assert.throws(() => h.load("/big.js"), { code: "EFBIG" });
  if (process.platform === "win32") return t.skip("no FIFOs");
  try {
    execFileSync("mkfifo", [path.join(root, "fifo.js")]);
  } catch {
    return t.skip("mkfifo not available");
  }
  assert.equal(h.resolve("./fifo.js", undefined, "import"), undefined); // not a regular file
  assert.throws(() => h.load("/fifo.js"), { code: "EINVAL" });
});

test("constructor validates roots", () => {
  assert.throws(() => new FileSystemHooks({ root: path.join(tmp, "does-not-exist") }), TypeError);
  assert.throws(() => new FileSystemHooks({ root: [] }), TypeError);
  const { root } = setup("ctor");
  assert.throws(() => new FileSystemHooks({ root: path.join(root, "real.js") }), TypeError);
});
