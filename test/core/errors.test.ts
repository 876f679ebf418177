import { test } from "node:test";
import assert from "node:assert/strict";
import { RExec, GuestError } from "../../src/index.js";

test("GuestError carries the guest's name, message and a stack of guest frames", async () => {
  using rx = new RExec();
  const err = await rx.r_eval("function inner() { null.x }\nfunction outer() { inner() }\nouter()", { filename: "plugin.js" }).catch((e) => e);
  assert.ok(err instanceof GuestError);
  assert.equal(err.guestName, "TypeError");
  assert.match(err.message, /null/);
  assert.deepEqual(err.frames.map((f: { functionName?: string }) => f.functionName), ["inner", "outer", "<eval>"]);
  assert.ok(err.frames.every((f: { fileName: string }) => f.fileName === "plugin.js"));
  assert.equal(err.frames[1].line, 2);
  assert.ok(!err.stack!.includes(process.cwd()), "no host path");
  assert.ok(!err.stack!.includes("node_modules"), "no host frames");
  const evalErr = await rx.r_eval("throw new Error('x')").catch((e) => e);
  assert.equal(evalErr.frames[0].fileName, "<eval>");
});

test("non-Error throws are reported with the thrown value copied", async () => {
  using rx = new RExec();
  const err = await rx.r_eval("throw { code: 42 }").catch((e) => e);
  assert.ok(err instanceof GuestError);
  assert.deepEqual(err.thrown, { code: 42 });
  const str = await rx.r_eval("throw 'plain'").catch((e) => e);
  assert.equal(str.thrown, "plain");
});

test("a thrown Proxy, hostile getters and a fake stack do not break the host", async () => {
  using rx = new RExec({ limits: { timeoutMs: 300 } });
  const p = await rx.r_eval("throw new Proxy(new Error('p'), { get(t, k) { if (k === 'stack') return '    at evil (/etc/passwd:1:1)\\n/home/user/secret'; return Reflect.get(t, k) } })").catch((e) => e);
  assert.ok(p instanceof GuestError);
  assert.ok(!p.stack.includes("/home/user/secret"), "junk lines are dropped from the stack");
  const throwing = await rx.r_eval("throw { get message() { throw new Error('inner') } }").catch((e) => e);
  assert.ok(throwing instanceof GuestError);
  const looping = await rx.r_eval("const e = new Error('x'); Object.defineProperty(e, 'message', { get() { for(;;){} } }); throw e").catch((e) => e);
  assert.ok(looping instanceof Error, String(looping));
  const sym = await rx.r_eval("throw Symbol('s')").catch((e) => e);
  assert.ok(sym instanceof GuestError && /cannot be copied/.test(sym.message));
  assert.equal(await rx.r_eval("'fine'"), "fine");
});

test("verbose logs limit hits and host-function calls to a function", async () => {
  const lines: string[] = [];
  using rx = new RExec({ verbose: (l) => lines.push(l), limits: { timeoutMs: 100 }, globals: { hello: () => "hi" } });
  await rx.r_eval("hello()");
  await rx.r_eval("for(;;){}").catch(() => {});
  assert.ok(lines.some((l) => /host call: hello\(0 arguments\)/.test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => /limit: timeoutMs \(100\)/.test(l)), lines.join("\n"));
});

test("s_exec writes to the configured stdio, not the host's process.stdout", async () => {
  const out: string[] = [];
  const err: string[] = [];
  using rx = new RExec({ stdio: { stdout: (t) => out.push(t), stderr: (t) => err.push(t) } });
  await rx.s_exec("console.log('to out', 1); console.error('to err'); process.stdout.write('raw')");
  assert.deepEqual(out, ["to out 1\n", "raw"]);
  assert.deepEqual(err, ["to err\n"]);
  assert.equal(await rx.s_eval("6 * 7"), 42);
});
