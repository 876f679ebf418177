// `rexec eval` runs until the guest is idle, like `node -e`: an error thrown
// by a timer, or a rejection left unhandled after the code finished, ends it
// with exit 1 and the guest error; and the library's `untilIdle` call option
// behind it, in-thread and in worker mode.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { rexec } from "./helpers.js";
import { RExec } from "../../src/index.js";

test("rexec eval: a timer's uncaught error is reported with its code frame, exit 1", async () => {
  const r = await rexec(["eval", 'setTimeout(() => { throw new Error("late") }, 10)']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Error: late/);
  assert.match(r.stderr, /setTimeout\(\(\) => \{ throw new Error\("late"\) \}, 10\)\n\s+\^/);
});

test("rexec eval: a rejection left unhandled inside a timer is reported, exit 1", async () => {
  const r = await rexec(["eval", 'setTimeout(() => Promise.reject(new RangeError("lr")), 5)']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /RangeError: lr/);
});

test("rexec eval -p prints the value first, then runs the timers, like node -p", async () => {
  const r = await rexec(["eval", "-p", 'setTimeout(() => console.log("tick"), 10); 6 * 7']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "42\ntick\n");
});

for (const worker of [false, true]) {
  describe(`untilIdle (${worker ? "worker mode" : "in-thread"})`, () => {
    test("resolves with the code's value once the timers are done", async () => {
      using rx = new RExec({ worker, globals: { note: (s: string) => void seen.push(s) } });
      const seen: string[] = [];
      const value = await rx.r_eval('setTimeout(() => note("timer"), 20); "value"', { untilIdle: true });
      assert.equal(value, "value");
      assert.deepEqual(seen, ["timer"]);
    });
    test("rejects with a timer's uncaught error; without it the call resolves at once", async () => {
      using rx = new RExec({ worker });
      await assert.rejects(rx.r_eval('setTimeout(() => { throw new TypeError("boom") }, 5); 1', { untilIdle: true }), (e: Error) => e.name === "GuestError" && /boom/.test(e.message));
      assert.equal(await rx.r_eval("2"), 2);
    });
    test("a non-boolean untilIdle is a TypeError", async () => {
      using rx = new RExec({ worker });
      await assert.rejects(rx.r_eval("1", { untilIdle: "yes" as never }), /untilIdle must be a boolean/);
    });
  });
}
