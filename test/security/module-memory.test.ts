/**
 * Host memory held for guest module text: a guest that can write files it may
 * import (MemoryHooks with a writable directory) can make the loader read any
 * number of distinct modules. Every host-side store of that text — the
 * process-wide prepared-source cache and each realm's loader records and
 * compiled sources — must be bounded in bytes, or the host dies of heap
 * exhaustion while the guest's own wasm heap stays flat.
 *
 * The flood runs in a child process with a 512 MiB old space (this file, with
 * an environment variable set), so other tests' allocations do not blur the
 * measurement and a heap exhaustion kills only the child.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { RExec } from "../../src/index.js";
import { MemoryHooks } from "../../src/loader/hooks/memory-hooks.js";
import * as prepared from "../../src/loader/prepared-cache.js";

const MiB = 1024 * 1024;
const CHILD_ENV = "REXEC_MODULE_MEMORY_CHILD";
const SANDBOXES = 2;
const CALLS = 10;

/**
 * The red-team flood: write a 16 MB module, import it, delete it, forever. A
 * call cut off by the clock between write and delete leaves its file behind,
 * so each call first clears those (or the hooks' quota would stop the flood
 * before the loader's limit is reached).
 */
const FLOOD = `(async () => { const fs = await import('fs'); for (const f of fs.readdirSync('/w')) if (f.endsWith('.mjs')) fs.unlinkSync('/w/' + f); const body = '//' + 'x'.repeat(16e6) + '\\nexport const x = 1;\\n';
  for (let i = 0; ; i++) { const p = '/w/m' + (globalThis.n = (globalThis.n || 0) + 1) + '.mjs'; fs.writeFileSync(p, body); await import(p); fs.unlinkSync(p); } })()`;

/** One sandbox flooded for {@link CALLS} calls, then disposed; returns the host heap peak between calls. */
async function floodOneSandbox(errors: Set<string>): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  let peak = 0;
  const hooks = new MemoryHooks({ files: { "w/.keep": "" } });
  const rx = new RExec({ hooks, okWritePaths: ["/w"], okBuiltinModules: ["fs"], limits: { memoryBytes: 128 * MiB, timeoutMs: 4000 } });
  for (let i = 0; i < CALLS; i++) {
    try {
      await rx.r_eval(FLOOD);
    } catch (error) {
      errors.add(String((error as Error).message).slice(0, 200));
    }
    gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  rx.dispose();
  return peak;
}

async function childMain(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const errors = new Set<string>();
  let peak = 0;
  // A function per sandbox, so nothing in this frame keeps the last one reachable during the final measurement.
  for (let s = 0; s < SANDBOXES; s++) peak = Math.max(peak, await floodOneSandbox(errors));
  gc();
  process.stdout.write(JSON.stringify({ after: process.memoryUsage().heapUsed, peak, errors: [...errors] }) + "\n");
}

if (process.env[CHILD_ENV] === "1") {
  await childMain();
} else {
  test("a flood of distinct 16 MB guest modules leaves the host heap bounded and the host alive", () => {
    const self = fileURLToPath(import.meta.url);
    const child = spawnSync(process.execPath, ["--expose-gc", "--max-old-space-size=512", "--import", "tsx", self], {
      encoding: "utf8",
      timeout: 300_000,
      env: { ...process.env, [CHILD_ENV]: "1" },
    });
    assert.equal(child.status, 0, `child died (status ${child.status}, signal ${child.signal}): ${child.stderr.slice(-2000)}`);
    const line = child.stdout.trim().split("\n").filter((l) => l.startsWith("{")).pop();
    assert.ok(line, `no measurement from the child: ${child.stdout.slice(0, 500)}`);
    const { after, peak, errors } = JSON.parse(line) as { after: number; peak: number; errors: string[] };
    // Sandboxes gone: nothing of the flood may stay (the prepared cache takes no 16 MB entries).
    assert.ok(after < 64 * MiB, `host heap after dispose + GC: ${(after / MiB).toFixed(1)} MiB`);
    // While a sandbox lives, its module text is capped (256 MiB) — well inside the 512 MiB old space.
    assert.ok(peak < 384 * MiB, `host heap peak between calls: ${(peak / MiB).toFixed(1)} MiB`);
    assert.ok(errors.some((m) => /module source/i.test(m) && /MiB/.test(m)), `no guest-visible error naming the module-source limit: ${JSON.stringify(errors)}`);
  });

  test("the prepared cache skips entries larger than its per-entry cap", () => {
    const { cachedPrepared, preparedKey, rememberPrepared, PREPARED_ENTRY_MAX_BYTES } = prepared;
    const big = "y".repeat(PREPARED_ENTRY_MAX_BYTES + 1);
    const key = preparedKey("test-big", big);
    rememberPrepared(key, { code: big }, big.length);
    assert.equal(cachedPrepared(key), undefined);
    const small = "z".repeat(1024);
    const smallKey = preparedKey("test-small", small);
    rememberPrepared(smallKey, { code: small }, small.length);
    assert.deepEqual(cachedPrepared(smallKey), { code: small });
  });

  test("the prepared cache stays within its byte budget, dropping the least recently used", () => {
    const { cachedPrepared, preparedCacheBytes, preparedKey, rememberPrepared, PREPARED_CACHE_MAX_BYTES, PREPARED_ENTRY_MAX_BYTES } = prepared;
    const size = Math.floor(PREPARED_ENTRY_MAX_BYTES / 2);
    const keys: string[] = [];
    const count = Math.ceil((2 * PREPARED_CACHE_MAX_BYTES) / size);
    assert.ok(count > 4, `the budget (${PREPARED_CACHE_MAX_BYTES}) must hold several entries under the per-entry cap (${PREPARED_ENTRY_MAX_BYTES})`);
    for (let i = 0; i < count; i++) {
      const text = String(i).padEnd(size, "q");
      const key = preparedKey(`test-lru-${i}`, text);
      keys.push(key);
      rememberPrepared(key, { code: text }, text.length);
      assert.ok(preparedCacheBytes() <= PREPARED_CACHE_MAX_BYTES, `cache holds ${preparedCacheBytes()} bytes after ${i + 1} entries`);
      if (i === 0) continue;
      // Keep the first entry warm: LRU, not FIFO.
      assert.ok(cachedPrepared(keys[0]!) !== undefined, `the most recently used entry was dropped at ${i}`);
    }
    assert.equal(cachedPrepared(keys[1]!), undefined, "an old, unused entry survived past the budget");
  });

  test("a realm's module text is refused past its cap, and unloading releases it", async () => {
    const { ModuleLoader, MAX_REALM_MODULE_SOURCE_BYTES } = await import("../../src/loader/module-loader.js");
    const size = 32 * MiB;
    const body = "//" + "x".repeat(size) + "\nexport const x = 1;\n";
    const files: Record<string, string> = {};
    const count = Math.floor(MAX_REALM_MODULE_SOURCE_BYTES / body.length) + 1;
    for (let i = 0; i < count; i++) files[`m${i}.mjs`] = body;
    const loader = new ModuleLoader(new MemoryHooks({ files, maxBytes: (count + 1) * (size + 1024) }), [], () => {});
    for (let i = 0; i < count - 1; i++) loader.loadSync(`/m${i}.mjs`);
    assert.ok(loader.moduleSourceBytes <= MAX_REALM_MODULE_SOURCE_BYTES);
    assert.throws(() => loader.loadSync(`/m${count - 1}.mjs`), /module source limit is 256 MiB/);
    // Each module still loads once: a second load of a kept module is no new charge.
    const held = loader.moduleSourceBytes;
    loader.loadSync("/m0.mjs");
    assert.equal(loader.moduleSourceBytes, held);
    loader.forget("/m0.mjs");
    assert.equal(loader.moduleSourceBytes, held - body.length);
    assert.equal(loader.loadSync(`/m${count - 1}.mjs`).format, "module");
  });
}
