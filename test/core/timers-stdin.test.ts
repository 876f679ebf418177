import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { RExec, MemoryHooks, TimeoutError, GuestError } from "../../src/index.js";

test("setTimeout, setInterval and clearInterval work; callbacks run under the call's limits", async () => {
  using rx = new RExec();
  // Orders only, no timing: the machine may be slow.
  const order = await rx.r_eval(`new Promise((resolve) => {
    const log = [];
    const cancelled = setTimeout(() => log.push('never'), 1);
    clearTimeout(cancelled);
    let n = 0;
    const i = setInterval(() => {
      log.push('i' + (++n));
      if (n === 3) { clearInterval(i); setTimeout(() => { log.push('after'); resolve(log); }, 1); }
    }, 1);
  })`);
  assert.deepEqual(order, ["i1", "i2", "i3", "after"]);
});

test("a timer callback that spins is stopped by timeoutMs", async () => {
  using rx = new RExec({ limits: { timeoutMs: 200 } });
  await assert.rejects(rx.r_eval("new Promise(r => setTimeout(() => { for (;;) {} }, 5))"), TimeoutError);
});

test("r_execfile runs like a script: it waits for the timers and host calls it started", async () => {
  const hooks = new MemoryHooks({ files: { "/main.js": "setTimeout(() => console.log('done', process.argv[1]), 30); console.log('start');" } });
  using rx = new RExec({ hooks });
  await rx.r_execfile("./main.js");
  assert.equal(rx.output.stdout, "start\ndone /main.js\n");
});

test("wallTimeMs bounds waiting for timers and host calls (never a hang)", async () => {
  using rx = new RExec({ limits: { wallTimeMs: 150 }, globals: { never: () => new Promise(() => {}) } });
  await assert.rejects(rx.r_eval("new Promise(r => setTimeout(r, 10_000))"), (e: unknown) => e instanceof TimeoutError && (e as TimeoutError).limit === "wallTimeMs");
  await assert.rejects(rx.r_eval("never()"), (e: unknown) => e instanceof TimeoutError && (e as TimeoutError).limit === "wallTimeMs");
  assert.equal(await rx.r_eval("'still usable'"), "still usable");
});

test("the number of pending timers is bounded", async () => {
  const lines: string[] = [];
  using rx = new RExec({ limits: { timeoutMs: 30_000 }, verbose: (l) => lines.push(l) });
  await rx.r_exec("for (let i = 0; i < 1100; i++) setTimeout(() => {}, 1e9)");
  // The host refused the timers past the cap. The guest's sleep promises reject, unhandled, when
  // the refusal reaches the guest: in the next call, which fails with that reason (as any
  // unhandled rejection, see unhandled-rejections.test.ts); the sandbox lives on.
  await assert.rejects(rx.r_eval("1 + 1"), (e: unknown) => e instanceof GuestError && e.guestName === "RangeError" && /too many pending timers/.test(e.message));
  assert.ok(lines.some((l) => /sleep rejected with RangeError/.test(l)), "the 1001st timer was refused");
  assert.equal(await rx.r_eval("1 + 1"), 2);
});

test("s_* calls connect the guest's process.stdin to stdio.stdin; r_* calls see an empty stdin", async () => {
  const hooks = new MemoryHooks({ files: { "/cat.js": "process.stdin.text().then((t) => console.log(t.toUpperCase()))" } });
  const out: string[] = [];
  using rx = new RExec({ hooks, stdio: { stdin: Readable.from(["hello ", "world"]), stdout: (t) => out.push(t) } });
  await rx.s_execfile("./cat.js");
  assert.deepEqual(out, ["HELLO WORLD\n"]);
  using quiet = new RExec({ stdio: { stdin: Readable.from(["secret"]) } });
  assert.equal(await quiet.r_eval("process.stdin.text()"), "");
});
