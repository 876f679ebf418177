// Hostile guests against the CLI's host-path permissions: `..`, symlinks (files,
// directories, dangling, through a deny), imports that leave the granted paths,
// NUL bytes and long paths, and forged stack frames asking for a code frame of a
// file the guest may not read. Nothing outside the grants is read, written or shown.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rexec } from "./helpers.js";

let dir: string;
let outside: string;
before(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "rexec-hostile-")));
  outside = realpathSync(mkdtempSync(join(tmpdir(), "rexec-outside-")));
  writeFileSync(join(outside, "secret.txt"), "OUTSIDE-SECRET");
  writeFileSync(join(outside, "evil.js"), "console.log('OUTSIDE-MODULE-RAN');\n");
  mkdirSync(join(dir, "data"));
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "data", "ok.txt"), "fine");
  writeFileSync(join(dir, "data", "private.txt"), "PRIVATE");
  symlinkSync(outside, join(dir, "data", "dirlink"));
  symlinkSync(join(dir, "data", "private.txt"), join(dir, "data", "alias.txt"));
  symlinkSync(join(outside, "new.txt"), join(dir, "data", "dangling.txt"));
  symlinkSync(join(outside, "evil.js"), join(dir, "app", "evil-link.js"));
  writeFileSync(join(dir, "app", "try.js"), [
    "const fs = require('fs');",
    "const out = [];",
    "for (const [op, p] of JSON.parse(process.argv[2])) {",
    "  try { out.push(op === 'r' ? fs.readFileSync(p, 'utf8') : (fs.writeFileSync(p, 'x'), 'wrote')); }",
    "  catch (e) { out.push(e.name === 'RestrictedError' || /access denied/.test(e.message) ? 'denied' : e.code ?? e.message); }",
    "}",
    "console.log(JSON.stringify(out));",
  ].join("\n"));
  writeFileSync(join(dir, "app", "imp.mjs"), "const which = process.argv[2];\ntry { await import(which); console.log('imported'); } catch (e) { console.log(e.message); }\n");
  writeFileSync(join(dir, "app", "forge.js"), `const e = new Error("forged"); e.stack = "    at f (${join(outside, "secret.txt")}:1:1)"; throw e;\n`);
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function attempt(flags: string[], ops: [string, string][]): Promise<unknown[]> {
  const r = await rexec(["run", ...flags, "app/try.js", JSON.stringify(ops)], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as unknown[];
}

describe("hostile paths", { concurrency: 4 }, () => {
  test("reads: .., symlinked directories and NUL never leave the grant; a symlink to a denied file is denied", async () => {
    const got = await attempt(["--allow-read=./data", "--deny-read=./data/private.txt"], [
      ["r", "./data/ok.txt"],
      ["r", "./data/../app/try.js"],
      ["r", "./data/dirlink/secret.txt"],
      ["r", `${dir}/data/../../${outside.split("/").pop()}/secret.txt`],
      ["r", "./data/alias.txt"],
      ["r", "./data/ok.txt\0"],
      ["r", `./data/${"a/".repeat(3000)}x`],
    ]);
    assert.equal(got[0], "fine");
    for (const i of [1, 2, 3, 4]) assert.equal(got[i], "denied", `#${i}: ${JSON.stringify(got)}`);
    assert.ok(!JSON.stringify(got).includes("SECRET") && !JSON.stringify(got).includes("PRIVATE"), JSON.stringify(got));
    assert.notEqual(got[5], "fine");
    assert.equal(got[6], "ENAMETOOLONG");
  });

  test("writes: through a symlinked directory, a dangling symlink or .. nothing is written outside", async () => {
    const got = await attempt(["--allow-write=./data", "--allow-read=./data"], [
      ["w", "./data/dirlink/planted.txt"],
      ["w", "./data/dangling.txt"],
      ["w", "./data/../planted.txt"],
      ["w", "./data/fresh.txt"],
    ]);
    assert.deepEqual(got.slice(0, 3).map((x) => x === "wrote"), [false, false, false], JSON.stringify(got));
    assert.equal(got[3], "wrote");
    assert.ok(!existsSync(join(outside, "planted.txt")) && !existsSync(join(outside, "new.txt")) && !existsSync(join(dir, "planted.txt")));
  });

  test("imports: a module outside the script's directory, or a symlink out of it, needs --allow-read and names it", async () => {
    const up = await rexec(["run", "app/imp.mjs", join(outside, "evil.js")], { cwd: dir });
    assert.ok(!up.stdout.includes("OUTSIDE-MODULE-RAN"), up.stdout);
    assert.ok(up.stdout.includes(`--allow-read=${join(outside, "evil.js")}`), up.stdout + up.stderr);
    const link = await rexec(["run", "app/imp.mjs", "./evil-link.js"], { cwd: dir });
    assert.ok(!link.stdout.includes("OUTSIDE-MODULE-RAN"), link.stdout);
    assert.ok(link.stdout.includes(`--allow-read=${join(dir, "app", "evil-link.js")}`), link.stdout + link.stderr);
    const granted = await rexec(["run", `--allow-read=${outside}`, "app/imp.mjs", join(outside, "evil.js")], { cwd: dir });
    assert.match(granted.stdout, /OUTSIDE-MODULE-RAN\nimported/);
  });

  test("a forged stack frame does not get a code frame of a file the guest may not read", async () => {
    const r = await rexec(["run", "app/forge.js"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.ok(!r.stderr.includes("OUTSIDE-SECRET"), r.stderr);
  });
});
