// The CLI's realm images on disk (src/cli/image-cache.ts): a command started
// again with the same configuration restores its realm; nothing secret is
// written; a corrupt, foreign or loosely-permitted file is never used.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import { join } from "node:path";
import { rexec } from "./helpers.js";
import { cacheDirectory, storable } from "../../src/cli/image-cache.js";

function freshCache(): { env: Record<string, string>; images: string } {
  const dir = mkdtempSync(join(tmpdir(), "rexec-cache-"));
  return { env: { REXEC_CACHE_DIR: dir }, images: join(dir, "images") };
}
/** The file's checksum (its first 64 bytes: the hex SHA-256 of the rest) holds. */
const intact = (bytes: Buffer): boolean => bytes.length > 64 && bytes.subarray(0, 64).toString("latin1") === createHash("sha256").update(bytes.subarray(64)).digest("hex");
const files = (dir: string): string[] => {
  try {
    return readdirSync(dir).filter((f) => f.endsWith(".img"));
  } catch {
    return [];
  }
};

test("a second command of the same configuration restores the stored image, which holds nothing of the first command's guest", async () => {
  const { env, images } = freshCache();
  const first = await rexec(["eval", "globalThis.leak = 'from-first'; Object.prototype.polluted = 1; console.log(1 + 1)"], { env });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, "2\n");
  const [file] = files(images);
  assert.ok(file, "an image was stored");
  const st = statSync(join(images, file));
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(statSync(images).mode & 0o777, 0o700);
  const second = await rexec(["eval", "-p", "[typeof leak, typeof ({}).polluted, 6 * 7]"], { env });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, "[ 'undefined', 'undefined', 42 ]\n");
  // Restored, not rebuilt: the file was not written again.
  assert.deepEqual(files(images), [file]);
  assert.equal(statSync(join(images, file)).mtimeMs, st.mtimeMs);
  // Each restored command gets its own Math.random state (reseeded from the host CSPRNG), not the image's.
  const draws = await Promise.all([1, 2, 3].map(() => rexec(["eval", "-p", "[Math.random(), Math.random()].join()"], { env })));
  for (const d of draws) assert.equal(d.code, 0, d.stderr);
  assert.equal(new Set(draws.map((d) => d.stdout)).size, 3, draws.map((d) => d.stdout).join(""));
  assert.equal(statSync(join(images, file)).mtimeMs, st.mtimeMs);
});

test("a restored realm takes this command's limits, not the stored one's", async () => {
  const { env } = freshCache();
  assert.equal((await rexec(["eval", "1"], { env })).code, 0);
  const bomb = await rexec(["eval", "--memory", "8m", "const a = []; for (;;) a.push('x'.repeat(1000) + a.length)"], { env });
  assert.equal(bomb.code, 4, bomb.stderr); // MemoryLimitError
  assert.match(bomb.stderr, /MemoryLimitError/);
  const loop = await rexec(["eval", "--timeout", "200ms", "for (;;) {}"], { env });
  assert.equal(loop.code, 3, loop.stderr); // TimeoutError
});

test("configurations carrying environment values or script arguments are never written", async () => {
  const { env, images } = freshCache();
  const withEnv = await rexec(["eval", "--allow-env=REXEC_TEST_SECRET", "-p", "process.env.REXEC_TEST_SECRET"], { env: { ...env, REXEC_TEST_SECRET: "hunter2" } });
  assert.equal(withEnv.stdout, "hunter2\n", withEnv.stderr);
  assert.deepEqual(files(images), []);
  const dir = mkdtempSync(join(tmpdir(), "rexec-args-"));
  writeFileSync(join(dir, "args.js"), "console.log(process.argv.slice(2).join(','))");
  const withArgs = await rexec(["run", join(dir, "args.js"), "--token", "s3cret"], { env });
  assert.equal(withArgs.stdout, "--token,s3cret\n", withArgs.stderr);
  assert.deepEqual(files(images), []);
  assert.equal(storable(JSON.stringify({ config: { env: { A: "1" }, argv: ["rexec", "<script>"] } })), false);
  assert.equal(storable(JSON.stringify({ config: { env: {}, argv: ["rexec", "<script>", "x"] } })), false);
  assert.equal(storable(JSON.stringify({ config: { env: {}, argv: ["rexec", "<script>"] } })), true);
  assert.equal(storable("not json"), false);
});

test("a corrupt, group/world-writable or truncated image is ignored and replaced", async () => {
  const { env, images } = freshCache();
  assert.equal((await rexec(["eval", "1"], { env })).code, 0);
  const [file] = files(images);
  const path = join(images, file!);
  const good = readFileSync(path);
  assert.ok(intact(good));
  const spoiled = [
    (() => { const b = Buffer.from(good); b[b.length - 100] ^= 0xff; return b; })(),
    good.subarray(0, good.length >> 1),
    Buffer.alloc(10),
  ];
  for (const bytes of spoiled) {
    writeFileSync(path, bytes, { mode: 0o600 });
    const r = await rexec(["eval", "-p", "'ok ' + (20 + 22)"], { env });
    assert.equal(r.stdout, "ok 42\n", r.stderr);
    assert.ok(intact(readFileSync(path)), "rebuilt and stored again");
  }
  // A good file anyone may write is not trusted either: it is rebuilt (and stored 0600).
  chmodSync(path, 0o666);
  const before = statSync(path).mtimeMs;
  const r = await rexec(["eval", "-p", "1 + 1"], { env });
  assert.equal(r.stdout, "2\n", r.stderr);
  assert.notEqual(statSync(path).mtimeMs, before);
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test("a well-formed stored image that does not fit this build's set-up is not used: the command sets up by evaluating", async () => {
  const { env, images } = freshCache();
  assert.equal((await rexec(["eval", "1"], { env })).code, 0);
  const [file] = files(images);
  const path = join(images, file!);
  // Valid checksum, right build and key — but a set-up that registered another number of host functions.
  const stored = deserialize(readFileSync(path).subarray(64)) as { image: { hostFunctionCount: number } };
  stored.image.hostFunctionCount += 1;
  const payload = serialize(stored);
  writeFileSync(path, Buffer.concat([Buffer.from(createHash("sha256").update(payload).digest("hex"), "latin1"), payload]), { mode: 0o600 });
  const r = await rexec(["eval", "-v", "-p", "6 * 7"], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "42\n");
  assert.match(r.stderr, /realm image from the store not used \(rexec internal error: a realm's set-up did not match its image\)/);
});

test("REXEC_CACHE_DIR= (empty) turns the cache off", async () => {
  const home = mkdtempSync(join(tmpdir(), "rexec-home-"));
  const r = await rexec(["eval", "-p", "1 + 1"], { env: { REXEC_CACHE_DIR: "", HOME: home, XDG_CACHE_HOME: join(home, "xdg") } });
  assert.equal(r.stdout, "2\n", r.stderr);
  assert.deepEqual(readdirSync(home), []);
  assert.equal(cacheDirectory({ REXEC_CACHE_DIR: "" }), undefined);
  assert.equal(cacheDirectory({ XDG_CACHE_HOME: "/x" }), join("/x", "rexec", "images"));
});
