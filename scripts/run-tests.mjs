// Runs every test file under test/ with node's test runner (Node 20 has no
// recursive glob in --test), TypeScript loaded through tsx.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const only = process.argv.slice(2);
function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "fixtures" && name !== "fuzz-long") out.push(...collect(path));
    } else if (/\.test\.(ts|mjs|js)$/.test(name)) out.push(relative(root, path));
  }
  return out;
}
/** Newest modification time of the files under `dir`. */
function newest(dir) {
  let latest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    latest = Math.max(latest, stat.isDirectory() ? newest(path) : stat.mtimeMs);
  }
  return latest;
}

// Worker threads and pool threads load ~100 modules each; through tsx's hooks that is ~0.5 s per
// thread. When dist/ was built after the last change to src/ (npm test builds first), threads
// start from the build (src/worker/spawn.ts); otherwise from the sources, as before.
const env = { ...process.env };
let distFresh = false;
try {
  distFresh = newest(join(root, "dist")) >= newest(join(root, "src"));
} catch {
  // no dist/: threads load the sources
}
if (distFresh) env.REXEC_WORKERS_FROM_DIST ??= "1";
else process.stderr.write("run-tests: dist/ is older than src/ (or missing): worker threads load the TypeScript sources (slower); `node scripts/build.mjs` first to speed them up\n");

// --test-timeout: a test that hangs fails after 5 minutes (the slowest takes ~30 s) instead of holding CI.
let files = collect(join(root, "test"));
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=300000", ...files], { stdio: "inherit", cwd: root, env });
process.exit(result.status ?? 1);
