// esbuild is loaded lazily and preloaded off the guest's budget, but its
// service (a child process per thread) starts only when a guest really
// imports or transpiles: sandboxes and pool threads that never do keep none.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";

const index = pathToFileURL(new URL("../../dist/index.js", import.meta.url).pathname).href;

/** Runs `body` in a fresh process; prints the names of that process's child processes (from /proc). */
function childNamesAfter(body: string): string[] {
  const script = `
    import { readdirSync, readFileSync } from "node:fs";
    const { RExec, RExecPool, MemoryHooks } = await import(${JSON.stringify(index)});
    ${body}
    await new Promise((r) => setTimeout(r, 400));
    const names = [];
    for (const pid of readdirSync("/proc").filter((n) => /^\\d+$/.test(n))) {
      try {
        const stat = readFileSync("/proc/" + pid + "/stat", "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (Number(fields[1]) === process.pid) names.push(stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")));
      } catch {}
    }
    console.log(JSON.stringify(names));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as string[];
}

test("a sandbox and a pool whose guests import nothing start no esbuild service", () => {
  const names = childNamesAfter(`
    const rx = new RExec(); await rx.r_eval("1 + 1");
    const pool = new RExecPool({ size: 2 }); await Promise.all([pool.run("1"), pool.run("2")]); await pool.close();`);
  assert.deepEqual(names.filter((n) => n === "esbuild"), []);
});

test("a guest's import of a .js module does start it (the check above can see one)", () => {
  const names = childNamesAfter(`
    const rx = new RExec({ hooks: new MemoryHooks({ files: { "/m.js": "export const a = 1" } }) });
    await rx.r_import("./m.js");`);
  assert.ok(names.includes("esbuild"), JSON.stringify(names));
});
