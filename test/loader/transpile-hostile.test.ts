// Hostile TypeScript must never take down esbuild's helper process for the whole
// host: deep nesting is refused before esbuild sees it, and a crashed service is
// replaced so later transpiles in every sandbox keep working.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

// Run in a child process so esbuild's own stderr (a Go stack trace when its parser overflows) is observable.
const script = `
import { RExec, MemoryHooks } from "./src/index.js";
const deep = "export const x: number = " + "(".repeat(1e6) + "1" + ")".repeat(1e6);
const chain = "export const x: number = " + "!".repeat(1e6) + "1";
const out = {};
for (const [name, src] of [["deep", deep], ["chain", chain]]) {
  const t = Date.now();
  try {
    await new RExec({ hooks: new MemoryHooks({ files: { "/plugin.ts": src } }), limits: { timeoutMs: 100 } }).r_import("/plugin.ts");
    out[name] = { ok: true };
  } catch (e) {
    out[name] = { name: e?.guestName ?? e?.name, message: String(e?.message).slice(0, 300), ms: Date.now() - t };
  }
}
const ns = await new RExec({ hooks: new MemoryHooks({ files: { "/ok.ts": "export const y: number = 41 + 1;" } }) }).r_import("/ok.ts");
out.after = ns.y;
console.log(JSON.stringify(out));
`;

test("deeply nested or chained TypeScript is refused fast, nothing reaches stderr, and TypeScript still loads afterwards", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.stderr, "", "nothing on the host's stderr");
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  for (const name of ["deep", "chain"]) {
    assert.equal(out[name].name, "SyntaxError", `${name}: ${JSON.stringify(out[name])}`);
    assert.match(out[name].message, /\/plugin\.ts.*(nest|chain).*limit \d+/, name);
  }
  assert.match(out.deep.message, /nest/);
  assert.match(out.chain.message, /chain/);
  assert.equal(out.after, 42, "a normal .ts module loads in a new sandbox afterwards");
});
