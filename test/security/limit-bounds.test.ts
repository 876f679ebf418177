// Limit accuracy, kept bounded by tests with generous bounds (the exact figures
// come from bench/limit-accuracy.mjs and are published in SECURITY.md):
// the wasm heap never passes memoryBytes + the 16 MiB engine baseline, the
// host's RSS grows by a small multiple of the cap at most, and each loop shape
// stops within a generous margin of timeoutMs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryLimitError, RExec, TimeoutError } from "../../src/index.js";

const MB = 1024 * 1024;
const BASELINE = 16 * MB;
const heapOf = (rx: RExec) => (rx as unknown as { realm?: { heapBytes: number } }).realm?.heapBytes ?? 0;

const memoryShapes: Record<string, string> = {
  "1 MB strings": "const a = []; for (;;) a.push('x'.repeat(1e6) + a.length)",
  "arrays of numbers": "const a = []; for (;;) a.push(new Array(1e5).fill(1))",
  "typed arrays": "const a = []; for (;;) a.push(new Uint8Array(1e6))",
  "small ArrayBuffers": "const a = []; for (;;) a.push(new ArrayBuffer(65536))",
  "small objects": "const a = []; for (;;) a.push({ a: 1, b: 'x', c: [1] })",
};

for (const [name, code] of Object.entries(memoryShapes)) {
  test(`memoryBytes holds for ${name}: heap ≤ cap + baseline, RSS growth ≤ 3 × cap + 64 MiB`, async () => {
    const memoryBytes = 24 * MB;
    const rx = new RExec({ limits: { memoryBytes, timeoutMs: 10_000 } });
    try {
      await rx.r_eval("1");
      const rssBefore = process.memoryUsage().rss;
      await assert.rejects(rx.r_eval(code), (e: Error) => e instanceof MemoryLimitError || e.name === "GuestError");
      const heap = heapOf(rx);
      const rssGrowth = process.memoryUsage().rss - rssBefore;
      assert.ok(heap > 0, "could not read the sandbox heap size");
      assert.ok(heap <= memoryBytes + BASELINE + 1 * MB, `wasm heap reached ${(heap / MB).toFixed(1)} MiB`);
      assert.ok(rssGrowth <= 3 * memoryBytes + 64 * MB, `host RSS grew ${(rssGrowth / MB).toFixed(1)} MiB`);
    } finally {
      rx.dispose();
    }
  });
}

const timeShapes: Record<string, string> = {
  "while (true)": "while (true) {}",
  "promise-job loop": "(function f() { return Promise.resolve().then(f) })()",
  "async loop": "(async () => { for (;;) await null })()",
  "ReDoS": "/^(a+)+$/.test('a'.repeat(40) + 'b')",
  "getter loop during copy-out": "({ get x() { for (;;) {} } })",
};
for (const timeoutMs of [100, 500]) {
  for (const [name, code] of Object.entries(timeShapes)) {
    test(`timeoutMs ${timeoutMs} holds for ${name} (within timeoutMs + 1500 ms)`, async () => {
      const rx = new RExec({ limits: { timeoutMs } });
      try {
        await rx.r_eval("1");
        const t0 = performance.now();
        await assert.rejects(rx.r_eval(code), TimeoutError);
        const ms = performance.now() - t0;
        assert.ok(ms >= timeoutMs * 0.9, `stopped early: ${ms.toFixed(0)} ms`);
        assert.ok(ms < timeoutMs + 1500, `ran ${ms.toFixed(0)} ms against ${timeoutMs} ms`);
      } finally {
        rx.dispose();
      }
    });
  }
}
