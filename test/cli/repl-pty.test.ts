// `rexec repl` on a real pseudo-terminal (util-linux `script`): prompt, top-level
// await, tab completion of guest globals and properties, history saved to a file
// and loaded by the next session, .help and .exit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ptySession } from "./helpers.js";

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), "rexec-pty-")); });
after(() => rmSync(dir, { recursive: true, force: true }));


test("a terminal session: await, completion, .help, history across sessions, .exit", async () => {
  const history = join(dir, "hist");
  const env = { REXEC_REPL_HISTORY: history };
  const first = await ptySession(["repl"], [
    { after: /> $/, type: "await Promise.resolve(6 * 7)\r" },
    { after: /42[\s\S]*> $/, type: "globalThis.zebraQuux = 1\r" },
    { after: /1[\s\S]*> $/, type: "zebraQ\t" },
    { after: /zebraQuux/, type: " + 1\r" },
    { after: /2[\s\S]*> $/, type: "Math.flo\t" },
    { after: /Math\.floor/, type: "(2.5)\r" },
    { after: /\b2\b[\s\S]*> $/, type: ".help\r" },
    { after: /\.exit[\s\S]*> $/, type: ".exit\r" },
  ], env);
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, /42/);
  assert.ok(existsSync(history), "history file written");
  const saved = readFileSync(history, "utf8");
  assert.match(saved, /^await Promise\.resolve\(6 \* 7\)$/m);
  assert.match(saved, /^zebraQuux \+ 1$/m);
  // The next session finds the last entry with the up arrow.
  writeFileSync(history, `${saved}globalThis.recalled = 'from history'\n`);
  const second = await ptySession(["repl"], [
    { after: /> $/, type: "\x1b[A" },
    { after: /recalled = 'from history'/, type: "\r" },
    { after: /'from history'[\s\S]*> $/, type: ".exit\r" },
  ], env);
  assert.equal(second.code, 0, second.out);
});
