// CLI start-up, side by side: `rexec eval 1+1` against `node -e 1`, each a fresh
// process, alternated so machine load hits both alike. Wall time from spawn to
// exit; peak RSS as the child reports it (process.resourceUsage().maxRSS, written
// by a --require'd reporter in separate runs so the wall times stay clean).
// Usage: node cli-startup.mjs [runs]   Prints "RESULT <json>".
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../bin/rexec.js", import.meta.url));
const runs = Number(process.argv[2] ?? 15);
const tmp = mkdtempSync(join(tmpdir(), "rexec-startup-"));
// rexec keeps realm images on disk between commands (src/cli/image-cache.ts):
// "rexec" runs with a cache the first round filled, as a user's second command
// would; "rexecCold" with an empty cache every time (a first command, or
// REXEC_CACHE_DIR= for no cache at all).
const warmCache = { REXEC_CACHE_DIR: join(tmp, "cache") };
let coldRun = 0;
const CASES = {
  rexec: { args: [bin, "eval", "1+1"], env: () => warmCache },
  rexecPrint: { args: [bin, "eval", "-p", "1+1"], env: () => warmCache },
  rexecCold: { args: [bin, "eval", "1+1"], env: () => ({ REXEC_CACHE_DIR: join(tmp, `cold-${coldRun++}`) }) },
  node: { args: ["-e", "1"], env: () => ({}) },
};
const reporter = join(tmp, "rss.cjs");
writeFileSync(reporter, "process.on('exit', () => require('fs').writeFileSync(process.env.RSS_OUT, String(process.resourceUsage().maxRSS)));\n");

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const out = { runs, wallMs: {}, rssMB: {} };
try {
  const wall = Object.fromEntries(Object.keys(CASES).map((k) => [k, []]));
  const rss = Object.fromEntries(Object.keys(CASES).map((k) => [k, []]));
  for (let i = 0; i < runs + 1; i++) {
    for (const [name, { args, env }] of Object.entries(CASES)) {
      const t = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env(), NODE_OPTIONS: "" } });
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
      if (i > 0) wall[name].push(ms); // the first round warms the file cache
      const rssOut = join(tmp, `${name}.rss`);
      spawnSync(process.execPath, args, { stdio: "ignore", env: { ...process.env, ...env(), NODE_OPTIONS: `--require ${reporter}`, RSS_OUT: rssOut } });
      rss[name].push(Number(readFileSync(rssOut, "utf8")) / 1024);
    }
  }
  for (const name of Object.keys(CASES)) {
    out.wallMs[name] = median(wall[name]);
    out.rssMB[name] = median(rss[name]);
  }
  out.ratio = out.wallMs.rexec / out.wallMs.node;
  out.coldRatio = out.wallMs.rexecCold / out.wallMs.node;
} catch (error) {
  out.failed = String(error?.message ?? error).slice(0, 400);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
