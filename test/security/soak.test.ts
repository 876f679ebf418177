// Soak / leak: thousands of sandboxes created, used (including limit hits,
// throws, exits, engine discards) and disposed in a child process with
// --expose-gc. The host's memory must level off: after warm-up, the last
// checkpoints may not keep growing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const COUNT = Number(process.env.REXEC_SOAK_COUNT ?? 1200);

// Hang guards only: ~40 s alone on 2 cores, but 3–4× that while the other test files of the
// run load both cores (the child saw 170 s once and was killed mid-run).
test(`soak: ${COUNT} sandboxes created, abused and disposed; host memory levels off`, { timeout: 420_000 }, () => {
  const worker = fileURLToPath(new URL("./soak-worker.ts", import.meta.url));
  const child = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", worker, String(COUNT)], { encoding: "utf8", timeout: 400_000 });
  assert.equal(child.status, 0, `soak child failed (signal ${child.signal}): ${child.stderr.slice(-2000)}`);
  const points = child.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { i: number; rss: number; heapUsed: number; external: number; ms: number });
  assert.ok(points.length >= 8, `expected checkpoints, got: ${child.stdout.slice(0, 500)}`);
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  const warm = points[2]!;
  const last = points[points.length - 1]!;
  const diag = points.map((p) => `${p.i}: rss ${mb(p.rss)} MB, heap ${mb(p.heapUsed)} MB, external ${mb(p.external)} MB (${p.ms} ms)`).join("\n");
  // A leak of even 20 KB per sandbox would show as ~20 MB here; wasm instances are 16+ MB each.
  assert.ok(last.heapUsed - warm.heapUsed < 24 * 1024 * 1024, `JS heap keeps growing:\n${diag}`);
  assert.ok(last.external - warm.external < 48 * 1024 * 1024, `external (wasm) memory keeps growing:\n${diag}`);
  assert.ok(last.rss - warm.rss < 160 * 1024 * 1024, `RSS keeps growing:\n${diag}`);
  console.log(diag);
});
