// Guest timers never outlive their sandbox. A guest that replaced
// Promise.prototype.then could grab the prelude's re-arm callback and arm the
// same timer id again and again; each re-arm left the previous host timer
// (up to 2^31-1 ms) armed, holding the disposed sandbox — 40 MB each,
// in-thread and in pool threads.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RExec } from "../../src/index.js";
import { GuestTimers } from "../../src/host/guest-timers.js";

test("re-arming a pending timer id clears the old host timer; a stale one never removes its successor; none start after clear()", async () => {
  const timers = new GuestTimers();
  void timers.sleep(1, 2 ** 31 - 1);
  void timers.sleep(1, 2 ** 31 - 1);
  void timers.sleep(1, 5);
  assert.equal(timers.size, 1);
  void timers.sleep(2, 2 ** 31 - 1);
  assert.equal(timers.size, 2);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(timers.size, 1, "the 5 ms timer fired and removed only itself");
  timers.clear();
  assert.equal(timers.size, 0);
  await assert.rejects(timers.sleep(3, 1), /disposed/);
  assert.equal(timers.size, 0);
});

test("a guest cannot capture the prelude's timer callbacks through Promise.prototype.then", async () => {
  using rx = new RExec();
  const captured = await rx.r_eval(`
    const cbs = [];
    const orig = Promise.prototype.then;
    Promise.prototype.then = function (f, r) { if (typeof f === "function") cbs.push(f); return orig.call(this, f, r); };
    setInterval(() => {}, 2147483647);
    Promise.prototype.then = orig;
    cbs.length`);
  assert.equal(captured, 0);
});
