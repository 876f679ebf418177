// Attack class: exfiltrating host secrets. Canaries are planted in the host —
// a global on the host's globalThis, an environment variable not in okEnv, a
// file — and every guest-visible channel (results, errors, console output) is
// searched for them. Also: host paths, host argv/cwd/versions, and another
// instance's heap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { CANARY, CANARY_ENV, CANARY_FILE, CANARY_GLOBAL, assertHostClean, assertNoLeak, attempt, runHostile, sandbox } from "./helpers.js";

const SEARCH = `(() => {
  // Walk everything reachable from the guest's globalThis (and a few hidden corners).
  const out = []; const seen = new Set(); const stack = [[globalThis, "globalThis", 0]];
  while (stack.length && out.length < 200000) {
    const [v, path, d] = stack.pop();
    if (v === null || (typeof v !== "object" && typeof v !== "function") || seen.has(v) || d > 6) { if (typeof v === "string") out.push(v); continue; }
    seen.add(v);
    let keys = []; try { keys = Reflect.ownKeys(v) } catch {}
    for (const k of keys) {
      let x; try { const desc = Object.getOwnPropertyDescriptor(v, k); x = desc && ("value" in desc ? desc.value : desc.get && desc.get.call(v)) } catch { continue }
      out.push(String(k));
      stack.push([x, path + "." + String(k), d + 1]);
    }
    try { stack.push([Object.getPrototypeOf(v), path + ".__proto__", d + 1]) } catch {}
    if (typeof v === "function") { try { out.push(Function.prototype.toString.call(v)) } catch {} }
  }
  return out.join("\\n");
})()`;

test("canary: nothing reachable from the guest's globalThis holds a host secret", async () => {
  const r = await runHostile(SEARCH, { limits: { timeoutMs: 5000 } });
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(typeof r.value, "string");
  assert.ok((r.value as string).length > 1000, "the walk saw the guest realm");
  assert.ok(!(r.value as string).includes(CANARY));
});

test("canary: the guest's process shows no host env, argv, cwd, pid or versions", async () => {
  const r = await runHostile(`JSON.stringify({ env: process.env, keys: Object.keys(process.env), argv: process.argv, cwd: process.cwd && process.cwd(),
    platform: process.platform, version: process.version, versions: process.versions, pid: process.pid, title: process.title, execPath: process.execPath,
    envDirect: process.env.${CANARY_ENV}, envPath: process.env.PATH, home: process.env.HOME, global: globalThis.${CANARY_GLOBAL} })`);
  const seen = JSON.parse(r.value as string) as Record<string, unknown>;
  assert.deepEqual(seen.keys, []);
  assert.equal(seen.envDirect, undefined);
  assert.equal(seen.envPath, undefined);
  assert.equal(seen.global, undefined);
  assert.ok(!JSON.stringify(seen.argv).includes(process.argv[1]!));
  assert.notEqual(seen.cwd, process.cwd());
  assert.equal(seen.pid, undefined);
});

test("canary: okEnv grants exactly the listed variables", async () => {
  process.env.REXEC_OK_VAR = "visible-value";
  try {
    const r = await runHostile(`[process.env.REXEC_OK_VAR, process.env.${CANARY_ENV}, Object.keys(process.env).join(",")]`, { okEnv: ["REXEC_OK_VAR", "REXEC_NOT_SET_VAR"] });
    assert.deepEqual(r.value, ["visible-value", undefined, "REXEC_OK_VAR"]);
    // Later host changes to env are not live in the guest, and guest writes do not reach the host.
    const sb = sandbox({ okEnv: ["REXEC_OK_VAR"] });
    try {
      await sb.r_exec(`process.env.REXEC_OK_VAR = "guest-wrote"; process.env.${CANARY_ENV} = "guest-wrote"`);
      assert.equal(process.env.REXEC_OK_VAR, "visible-value");
      assert.equal(process.env[CANARY_ENV], CANARY);
    } finally {
      sb.dispose();
    }
  } finally {
    delete process.env.REXEC_OK_VAR;
  }
});

const fileAttempts: Record<string, string> = {
  "require('fs')": `typeof require === "function" ? require("fs").readFileSync(${JSON.stringify(CANARY_FILE)}, "utf8") : "no require"`,
  "import('fs')": `import("fs").then((fs) => (fs.readFileSync || fs.default.readFileSync)(${JSON.stringify(CANARY_FILE)}, "utf8"), (e) => "denied: " + e.message)`,
  "import('node:fs')": `import("node:fs").then((fs) => fs.readFileSync(${JSON.stringify(CANARY_FILE)}, "utf8"), (e) => "denied")`,
  "import of the file path": `import(${JSON.stringify(CANARY_FILE)}).then((m) => JSON.stringify(m), (e) => "denied")`,
  "import of a file:// URL": `import(${JSON.stringify("file://" + CANARY_FILE)}).then((m) => JSON.stringify(m), (e) => "denied")`,
  "import with ../ traversal": `import("../../../../../../../../../../../../" + ${JSON.stringify(CANARY_FILE.slice(1))}).then((m) => JSON.stringify(m), (e) => "denied")`,
  "import with a NUL byte": `import("./x.js\\0" + ${JSON.stringify(CANARY_FILE)}).then((m) => JSON.stringify(m), (e) => "denied")`,
  "QuickJS std module": `import("std").then((std) => std.loadFile(${JSON.stringify(CANARY_FILE)}), (e) => "denied")`,
  "QuickJS os module": `import("os").then((os) => JSON.stringify(os.readdir("/")), (e) => "denied")`,
  // fetch exists (a web-standard global) but refuses every request unless the host grants origins (okFetchOrigins).
  "globals of other runtimes": `[typeof std, typeof os, typeof scriptArgs, typeof Deno, typeof Bun, typeof XMLHttpRequest, typeof WebSocket, typeof importScripts, typeof load, typeof read, typeof readbuffer].join(",")`,
  "fetch without a grant": `fetch("file://" + ${JSON.stringify(CANARY_FILE)}).then((r) => r.text(), (e) => "denied: " + e.message)`,
  "process.binding / dlopen": `[typeof process.binding, typeof process.dlopen, typeof process._linkedBinding].join(",")`,
  "child_process": `import("child_process").then((cp) => cp.execSync("cat " + ${JSON.stringify(CANARY_FILE)}).toString(), (e) => "denied")`,
};

for (const [name, code] of Object.entries(fileAttempts)) {
  test(`canary: the guest cannot read the host file through ${name}`, async () => {
    const sb = sandbox({ limits: { timeoutMs: 1000 } });
    try {
      const r = await attempt(sb, code);
      const seen = [inspect(r.value), r.error?.message, (r.error as { guestStack?: string } | undefined)?.guestStack, sb.output.stdout, sb.output.stderr].join("\n");
      assert.ok(!seen.includes(CANARY), `the file's secret reached the guest via ${name}`);
      if (name === "globals of other runtimes") assert.equal(r.value, Array(11).fill("undefined").join(","));
      if (name === "fetch without a grant") assert.match(String(r.value), /^denied: fetch is not allowed/);
      assertHostClean();
    } finally {
      sb.dispose();
    }
  });
}

test("canary: guest-visible stacks and error messages never show host paths", async () => {
  const sb = sandbox({ globals: { thrower: () => { throw new Error("plain"); }, athrower: async () => { throw new TypeError("async plain"); }, take: (_x: unknown) => 1 } });
  try {
    const r = await sb.r_eval(`(async () => {
      const out = [];
      const grab = (f) => { try { f() } catch (e) { out.push(String(e && e.stack), String(e && e.message)) } };
      grab(() => null.x);
      grab(() => thrower());
      grab(() => take(Symbol("s")));
      grab(() => take({ w: new WeakMap() }));
      grab(() => { const o = {}; o.o = o; take(Promise.resolve()) });
      try { await athrower() } catch (e) { out.push(String(e.stack), e.message) }
      out.push(new Error("here").stack, String(console.log), String(exit), String(thrower), String(Object.getOwnPropertyNames(globalThis)));
      return out.join("\\n");
    })()`);
    assertNoLeak(r, sb.output.stdout, sb.output.stderr);
    assert.doesNotMatch(String(r), /\.ts:\d|node_modules|node:internal|file:\/\//);
  } finally {
    sb.dispose();
  }
});

test("canary: a secret given to one instance cannot be scraped from another instance's heap", async () => {
  const secret = `scrape-${CANARY}`;
  const a = sandbox({ globals: { secret }, limits: { memoryBytes: 16 * 1024 * 1024 } });
  const b = sandbox({ limits: { memoryBytes: 16 * 1024 * 1024, timeoutMs: 5000 } });
  try {
    await a.r_exec("globalThis.copies = []; for (let i = 0; i < 1000; i++) copies.push(secret + i)");
    a.dispose();
    const found = await b.r_eval(`(() => {
      const needle = ${JSON.stringify(secret.slice(0, 16))};
      const bufs = []; let hit = false;
      try { for (let i = 0; i < 60; i++) { const u = new Uint8Array(new ArrayBuffer(1 << 18)); bufs.push(u); let s = ""; for (let j = 0; j < u.length; j += 4096) { for (let k = 0; k < 64; k++) s += String.fromCharCode(u[j + k]) } if (s.includes(needle)) hit = true } } catch {}
      return hit;
    })()`);
    assert.equal(found, false);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test("canary: s_eval output goes only to the configured stdio; r_eval gives the guest no host stdin", async () => {
  let captured = "";
  const sb = sandbox({ stdio: { stdout: (t: string) => (captured += t), stderr: (t: string) => (captured += t) } });
  try {
    await sb.s_eval(`console.log("to-stdio")`);
    assert.equal(captured, "to-stdio\n");
    // Under r_* there is no stdin: either no process.stdin at all, or one that is at EOF at once.
    const r = await sb.r_eval(`(async () => {
      if (typeof process.stdin !== "object" || process.stdin === null) return "none";
      if (typeof process.stdin.text === "function") return "text:" + (await process.stdin.text());
      if (typeof process.stdin.read === "function") return "read:" + String(await process.stdin.read());
      return "opaque";
    })()`);
    assert.ok(["none", "text:", "read:null", "opaque"].includes(String(r)), `guest read something from stdin under r_eval: ${String(r)}`);
    assert.equal(typeof (await sb.r_eval("typeof globalThis.readline")), "string");
  } finally {
    sb.dispose();
  }
});
