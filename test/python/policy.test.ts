// Python guests: policy by subclassing and options (r_open, okEnv), copy refusals, call ordering, units.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { PythonRExec, RestrictedError, GuestError, CloneError, type OpenMode } from "../../src/index.js";
import { fromGuest, toGuest } from "../../src/python/codec.js";
import { patchMemoryMaximum } from "../../src/python/pyodide-files.js";
import { openMode } from "../../src/python/firewall.js";

const opened: PythonRExec[] = [];
after(() => opened.forEach((rx) => rx.dispose()));

test("r_open: a subclass decides every guest open (canonical path and mode); the default allows only /tmp and /home/guest", async () => {
  const seen: string[] = [];
  class ReadOnlyData extends PythonRExec {
    override r_open(path: string, mode: OpenMode): void {
      seen.push(`${mode} ${path}`);
      if (path.startsWith("/data/") && mode === "r") return;
      throw new RestrictedError(`${mode} ${path}`, "only reads under /data");
    }
  }
  const rx = new ReadOnlyData({ okBuiltinModules: ["os"] });
  opened.push(rx);
  const error = await rx.r_exec("open('/tmp/../tmp/x.txt', 'w')").catch((e: unknown) => e);
  assert.ok(error instanceof RestrictedError, String(error));
  assert.equal(error.denied, "w /tmp/x.txt");
  assert.deepEqual(error.frames[0], { functionName: undefined, fileName: "<exec>", line: 1, column: 0 });
  assert.ok(seen.includes("w /tmp/x.txt"), seen.join());
  const plain = new PythonRExec();
  opened.push(plain);
  await plain.r_exec("open('/tmp/ok.txt', 'w').write('fine')\nimport os\nos.makedirs('/home/guest/d', exist_ok=True)");
  assert.equal(await plain.r_eval("open('/tmp/ok.txt').read()"), "fine");
  await assert.rejects(plain.r_exec("open('/lib/python3.14/json/__init__.py', 'w')"), RestrictedError);
  await assert.rejects(plain.r_exec("open('/etc/passwd')"), RestrictedError);
  await assert.rejects(plain.r_exec("open('/dev/tty', 'w').write('x')"), RestrictedError);
});

test("okEnv copies only the named variables into os.environ; host values are copied, host objects refused", async () => {
  process.env.REXEC_PY_OK = "visible";
  process.env.REXEC_PY_NOT = "hidden";
  class Host { secret = 1; }
  const rx = new PythonRExec({ okEnv: ["REXEC_PY_OK"], globals: { make: () => new Host(), fail: async () => { throw new TypeError("nope"); }, config: { deep: { list: [1, 2] } } } });
  opened.push(rx);
  assert.deepEqual(await rx.r_eval("import os\n(os.environ.get('REXEC_PY_OK'), os.environ.get('REXEC_PY_NOT'))"), ["visible", null]);
  assert.equal(await rx.r_eval("config['deep']['list'][1]"), 2);
  assert.match(String(await rx.r_eval("try:\n  make()\nexcept Exception as e:\n  r = str(e)\nr")), /cannot be copied into Python/);
  assert.equal(await rx.r_eval("try:\n  fail()\nexcept Exception as e:\n  r = str(e)\nr"), "TypeError: nope");
  assert.throws(() => new PythonRExec({ globals: { bad: new Host() } }), CloneError);
  assert.throws(() => new PythonRExec({ limits: { memoryBytes: 16 * 2 ** 20 } }), RangeError);
  assert.throws(() => new PythonRExec({ worker: true } as never), TypeError);
});

test("calls run one at a time, in order; a failing call does not stop the next", async () => {
  const rx = new PythonRExec();
  opened.push(rx);
  const results = await Promise.allSettled([rx.r_exec("log = []"), rx.r_exec("log.append(1)"), rx.r_exec("raise KeyError('k')"), rx.r_exec("log.append(2)"), rx.r_eval("log")]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
  assert.ok((results[2] as PromiseRejectedResult).reason instanceof GuestError);
  assert.deepEqual((results[4] as PromiseFulfilledResult<unknown>).value, [1, 2]);
});

test("units: codec bounds, memory-section patch, open modes", () => {
  let deep: unknown = [];
  for (let i = 0; i < 500; i++) deep = [deep];
  assert.throws(() => fromGuest(deep), CloneError);
  assert.throws(() => toGuest(deep), CloneError);
  assert.throws(() => fromGuest({ $bigint: "12x" }), CloneError);
  assert.throws(() => fromGuest({ $nope: 1 }), CloneError);
  const parsed = fromGuest(JSON.parse('{"__proto__": {"polluted": 1}}')) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(toGuest({ $k: 1 }), { $dict: [["$k", 1]] });
  assert.throws(() => toGuest(() => 1), CloneError);
  // a minimal wasm module with one memory (min 1, max 100 pages)
  const wasm = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 4, 1, 1, 1, 100]);
  const patched = patchMemoryMaximum(wasm, 3);
  assert.deepEqual([...patched.binary.subarray(8)], [5, 4, 1, 1, 1, 3]);
  assert.throws(() => patchMemoryMaximum(wasm, 200), RangeError, "a wider value than the field is refused");
  assert.throws(() => patchMemoryMaximum(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 4, 1, 1, 2, 100]), 1), RangeError);
  assert.deepEqual([0, 1, 2, 0o2001].map(openMode), ["r", "w", "w", "a"]);
});

test("r_open judges the canonical path: a guest symlink does not launder a denied target", async () => {
  const rx = new PythonRExec({ okBuiltinModules: ["os"] });
  opened.push(rx);
  await rx.r_exec("import os\nos.symlink('/lib/python314.zip', '/tmp/zip_link')\nos.symlink('/dev/tty', '/tmp/tty_link')");
  await assert.rejects(rx.r_exec("open('/tmp/zip_link', 'w').write('tampered')"), RestrictedError);
  await assert.rejects(rx.r_exec("open('/tmp/tty_link', 'w').write('x')"), RestrictedError);
  assert.equal(await rx.r_eval("len(open('/tmp/zip_link', 'rb').read(4)) == 4"), true, "reading the stdlib through the link is allowed");
});

test("the snapshot disk cache is read only when owned by this user, not writable by others, and intact", async () => {
  const { readCached, writeCached } = await import("../../src/python/snapshot.js");
  const { mkdtempSync, chmodSync, readdirSync, writeFileSync, symlinkSync, renameSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const dir = join(mkdtempSync(join(tmpdir(), "rexec-py-cache-")), "cache");
  const image = new Uint8Array([1, 2, 3, 4]);
  writeCached(dir, image);
  assert.deepEqual(readCached(dir), image);
  const file = join(dir, readdirSync(dir).find((n) => n.endsWith(".snapshot"))!);
  chmodSync(file, 0o666);
  assert.equal(readCached(dir), undefined, "group/world-writable file");
  chmodSync(file, 0o600);
  chmodSync(dir, 0o777);
  assert.equal(readCached(dir), undefined, "world-writable directory");
  chmodSync(dir, 0o700);
  writeFileSync(file, new Uint8Array([1, 2, 3, 5]), { mode: 0o600 });
  assert.equal(readCached(dir), undefined, "content does not match its hash");
  renameSync(file, `${file}.real`);
  symlinkSync(`${file}.real`, file);
  assert.equal(readCached(dir), undefined, "a symlink");
});
