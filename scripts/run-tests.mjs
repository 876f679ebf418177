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
let files = collect(join(root, "test"));
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...files], { stdio: "inherit", cwd: root });
process.exit(result.status ?? 1);
