/**
 * Host memory outside the guest's cap: what guest file writes cost the host.
 *
 * A guest writing into {@link MemoryHooks} fills a tree held in the host's
 * heap, which `limits.memoryBytes` does not cover; FileSystemHooks writes fill
 * the host's disk. Both are bounded by the hooks' own quotas, and the guest
 * sees Node-like `ENOSPC` / `EDQUOT` errors that name the option to raise.
 *
 * The RSS test runs in a child process (this file, with an environment
 * variable set), so other tests' allocations do not blur the measurement.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RExec } from "../../src/index.js";
import { MemoryHooks } from "../../src/loader/hooks/memory-hooks.js";
import { FileSystemHooks } from "../../src/loader/hooks/file-system-hooks.js";

const MiB = 1024 * 1024;
const CHILD_ENV = "REXEC_HOST_MEMORY_CHILD";
const QUOTA = 16 * MiB;
const GUEST_MEMORY = 32 * MiB;
const CALLS = 5;

/** Guest program: as many 1 MiB writes (text and bytes), appends and directories as it can, counting refusals. */
const HOSTILE_WRITER = `
const fs = require("fs");
const bytes = new Uint8Array(1 << 20).fill(120);
const text = "y".repeat(1 << 20);
const run = fs.readdirSync("/out").length;
let refused = 0;
const attempt = (f) => { try { f(); } catch (e) { if (e.code !== "ENOSPC" && e.code !== "EDQUOT") throw e; refused++; } };
for (let i = 0; i < 48; i++) attempt(() => fs.writeFileSync("/out/f" + run + "-" + i, i % 2 ? bytes : text));
for (let i = 0; i < 48; i++) attempt(() => fs.appendFileSync("/out/log", bytes));
for (let i = 0; i < 2000; i++) attempt(() => fs.mkdirSync("/out/d" + run + "-" + i + "-" + "n".repeat(200)));
globalThis.refused = (globalThis.refused || 0) + refused;
`;

async function childMain(): Promise<void> {
  const hooks = new MemoryHooks({ maxBytes: QUOTA, files: { "out/.keep": "", "main.js": HOSTILE_WRITER, "warm.js": "require('fs').writeFileSync('/out/w', 'w')" } });
  const rx = new RExec({ hooks, okWritePaths: ["/out"], limits: { memoryBytes: GUEST_MEMORY, timeoutMs: 20_000 } });
  const gc = (globalThis as { gc?: () => void }).gc!;
  await rx.r_execfile("/warm.js");
  gc();
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < CALLS; i++) {
    rx.r_unload("/main.js");
    await rx.r_execfile("/main.js");
  }
  const refused = await rx.r_eval("refused");
  // What stays: the tree (and whatever else the writes left behind), not the garbage of copying.
  gc();
  process.stdout.write(JSON.stringify({ growth: process.memoryUsage().rss - rss0, refused }) + "\n");
}

if (process.env[CHILD_ENV] === "1") {
  await childMain();
} else {
  test("guest writes into MemoryHooks grow host RSS by a small multiple of maxBytes, not by what the guest writes", () => {
    const self = fileURLToPath(import.meta.url);
    const child = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", self], {
      encoding: "utf8",
      timeout: 170_000,
      env: { ...process.env, [CHILD_ENV]: "1" },
    });
    assert.equal(child.status, 0, `child failed (signal ${child.signal}): ${child.stderr.slice(-2000)}`);
    const line = child.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
    assert.ok(line, `no measurement from the child: ${child.stdout.slice(0, 500)}`);
    const { growth, refused } = JSON.parse(line) as { growth: number; refused: number };
    // The guest tries to store 5 × 96 MiB of contents plus 10 000 long directory names.
    assert.ok(refused > 0, "the quota never refused a write");
    // Allowed: the guest's own heap growing to its cap (wasm memory is host RSS too), plus the
    // tree (contents, append slack, paths) with room for allocator noise. Measured: 36–58 MiB;
    // before the quota existed: ~770 MiB.
    const bound = GUEST_MEMORY + 4 * QUOTA;
    assert.ok(growth < bound, `host RSS grew by ${(growth / MiB).toFixed(1)} MiB (bound ${bound / MiB} MiB) with a ${QUOTA / MiB} MiB quota`);
  });
}

if (process.env[CHILD_ENV] !== "1") {
  const tmp = mkdtempSync(join(tmpdir(), "rexec-hostmem-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** Run `/main.js` of `hooks` with `out` writable; returns what it left in `globalThis.out`. */
  async function runFile(hooks: MemoryHooks | FileSystemHooks, out = "/out"): Promise<unknown> {
    const rx = new RExec({ hooks, okWritePaths: [out] });
    try {
      await rx.r_exec(`globalThis.out = undefined`);
      await rx.r_execfile("/main.js");
      return await rx.r_eval("globalThis.out");
    } finally {
      rx.dispose();
    }
  }

  const CATCH = (body: string) => `const fs = require("fs"); const r = []; const t = (f) => { try { f(); r.push("ok"); } catch (e) { r.push(e.code + " " + e.message); } }; ${body}; globalThis.out = r;`;

  test("MemoryHooks: a write past maxBytes fails with ENOSPC naming the option; shrinking and deleting free room", async () => {
    const hooks = new MemoryHooks({
      maxBytes: 4096,
      files: {
        "out/.keep": "",
        "main.js": CATCH(`t(() => fs.writeFileSync("/out/a", "x".repeat(2000)));
          t(() => fs.appendFileSync("/out/a", "x".repeat(3000)));
          t(() => fs.writeFileSync("/out/a", "x".repeat(10)));
          t(() => fs.writeFileSync("/out/b", "x".repeat(3000)));
          t(() => fs.writeFileSync("/out/c", "x".repeat(1000)));
          t(() => fs.unlinkSync("/out/b"));
          t(() => fs.writeFileSync("/out/c", "x".repeat(1000)));
          r.push(fs.readFileSync("/out/a", "utf8").length)`),
      },
    });
    const r = (await runFile(hooks)) as string[];
    assert.equal(r[0], "ok");
    assert.match(r[1], /^ENOSPC ENOSPC: no space left on device, write '\/out\/a' \(.*MemoryHooks option maxBytes\)$/);
    assert.equal(r[2], "ok", "overwriting with less must succeed");
    assert.equal(r[3], "ok");
    assert.match(r[4], /^ENOSPC /);
    assert.deepEqual(r.slice(5), ["ok", "ok", 10]);
  });

  test("MemoryHooks: files and directories past maxFiles fail with EDQUOT naming the option", async () => {
    const hooks = new MemoryHooks({
      maxFiles: 4,
      files: { "out/.keep": "", "main.js": CATCH(`t(() => fs.writeFileSync("/out/a", "1")); t(() => fs.mkdirSync("/out/d")); t(() => fs.writeFileSync("/out/a", "2")); t(() => fs.appendFileSync("/out/b", "1"))`) },
    });
    // Entries: /out, /out/.keep, /main.js — so one more is allowed.
    const r = (await runFile(hooks)) as string[];
    assert.equal(r[0], "ok");
    assert.match(r[1], /^EDQUOT EDQUOT: disk quota exceeded, mkdir '\/out\/d' \(.*MemoryHooks option maxFiles\)$/);
    assert.equal(r[2], "ok", "overwriting an existing file creates no entry");
    assert.match(r[3], /^EDQUOT /);
  });

  test("MemoryHooks: appends keep contents exact and stay within the quota; the host's files are never refused", () => {
    // "/big.txt" (8) + 100 bytes is over the quota already.
    const hooks = new MemoryHooks({ maxBytes: 60, files: { "big.txt": "b".repeat(100) } });
    assert.throws(() => hooks.fs!.writeFile("/x", new Uint8Array(1), false), { code: "ENOSPC" });
    hooks.fs!.writeFile("/big.txt", new TextEncoder().encode("small"), false);
    for (let i = 0; i < 40; i++) hooks.fs!.writeFile("/big.txt", new Uint8Array([48 + (i % 10)]), true);
    assert.equal(new TextDecoder().decode(hooks.fs!.readFile("/big.txt")), "small" + "0123456789".repeat(4));
    assert.equal(hooks.fs!.stat("/big.txt")!.size, 45);
    assert.throws(() => new MemoryHooks({ maxBytes: -1 }), /maxBytes must be a non-negative integer/);
    assert.throws(() => new MemoryHooks({ maxFiles: Infinity }), /maxFiles must be a non-negative integer/);
  });

  test("FileSystemHooks: guest writes past maxWriteBytes / maxWriteFiles fail with ENOSPC / EDQUOT before touching the disk", async () => {
    const root = join(tmp, "fsh");
    mkdirSync(join(root, "out"), { recursive: true });
    writeFileSync(join(root, "out", "old.bin"), Buffer.alloc(3000));
    writeFileSync(
      join(root, "main.js"),
      CATCH(`t(() => fs.writeFileSync("/out/a", "x".repeat(3000)));
        t(() => fs.appendFileSync("/out/a", "x".repeat(2000)));
        r.push(fs.statSync("/out/a").size);
        t(() => fs.writeFileSync("/out/a", "x".repeat(1000)));
        t(() => fs.unlinkSync("/out/old.bin"));
        t(() => fs.writeFileSync("/out/b", "x".repeat(3000)));
        t(() => fs.mkdirSync("/out/d"));
        t(() => fs.writeFileSync("/out/c", "x"))`),
    );
    const hooks = new FileSystemHooks({ root, maxWriteBytes: 4096, maxWriteFiles: 2 });
    const r = (await runFile(hooks)) as string[];
    assert.equal(r[0], "ok");
    assert.match(r[1], /^ENOSPC ENOSPC: no space left on device, write '\/out\/a' \(.*FileSystemHooks option maxWriteBytes\)$/);
    assert.equal(r[2], 3000, "the refused append wrote nothing");
    assert.deepEqual(r.slice(3, 6), ["ok", "ok", "ok"], "shrinking and deleting credit the quota back");
    assert.equal(statSync(join(root, "out", "a")).size, 1000);
    // Created so far: a, b (old.bin's deletion credits one): d is the third.
    assert.equal(r[6], "ok");
    assert.match(r[7], /^EDQUOT EDQUOT: disk quota exceeded, write '\/out\/c' \(.*FileSystemHooks option maxWriteFiles\)$/);
    assert.deepEqual(readdirSync(join(root, "out")).sort(), ["a", "b", "d"]);
  });
}
