// Guest side of deterministic mode (src/host/deterministic.ts): a seeded
// Math.random, a virtual clock behind Date and performance.now(), and timers
// that fire in virtual-time order. Evaluated after the prelude (it wraps the
// prelude's timers) and before any guest code; it evaluates to a function the
// host calls once with copies of { now, state }.
//
// Nothing here is a host object and nothing here guards anything: it makes a
// run reproducible, and a guest can only undo that for itself.
(function rexecDeterministic(config) {
  "use strict";
  const { defineProperty, freeze } = Object;
  const construct = Reflect.construct;
  const apply = Reflect.apply;
  const hidden = (object, name, value) => defineProperty(object, name, { value, writable: true, enumerable: false, configurable: true });
  let now = config.now;
  const origin = now;

  // --- Math.random: xoshiro128** (53 bits from two outputs) --------------------
  let [s0, s1, s2, s3] = config.state;
  function next32() {
    const result = Math.imul(((Math.imul(s1, 5) << 7) | (Math.imul(s1, 5) >>> 25)), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    return result;
  }
  hidden(Math, "random", function random() {
    return ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
  });

  // --- the virtual clock -------------------------------------------------------
  if (typeof Date === "function") {
    const RealDate = Date;
    const toString = RealDate.prototype.toString;
    const VirtualDate = function Date(...args) {
      if (new.target === undefined) return apply(toString, new RealDate(now), []);
      return construct(RealDate, args.length === 0 ? [now] : args, new.target);
    };
    defineProperty(VirtualDate, "length", { value: 7 });
    defineProperty(VirtualDate, "prototype", { value: RealDate.prototype, writable: false, enumerable: false, configurable: false });
    hidden(VirtualDate, "now", function now_() { return now; });
    defineProperty(VirtualDate.now, "name", { value: "now" });
    hidden(VirtualDate, "parse", RealDate.parse);
    hidden(VirtualDate, "UTC", RealDate.UTC);
    hidden(RealDate.prototype, "constructor", VirtualDate);
    hidden(globalThis, "Date", VirtualDate);
  }
  hidden(globalThis, "performance", freeze({ now: () => now - origin, timeOrigin: origin }));

  // --- timers in virtual-time order ----------------------------------------------
  // Each due timer fires on its own host turn (a zero-delay prelude timer), so
  // promise jobs between two callbacks run as they would in Node.
  const hostSetTimeout = globalThis.setTimeout;
  if (typeof hostSetTimeout !== "function") return;
  const live = new Map();
  let nextId = 1, order = 0, pumping = false;
  function pump() {
    if (pumping || live.size === 0) return;
    pumping = true;
    hostSetTimeout(fire, 0);
  }
  function fire() {
    pumping = false;
    let first;
    for (const timer of live.values()) {
      if (first === undefined || timer.due < first.due || (timer.due === first.due && timer.order < first.order)) first = timer;
    }
    if (first === undefined) return;
    if (first.due > now) now = first.due;
    if (first.every > 0) {
      first.due = now + first.every;
      first.order = order++;
    } else live.delete(first.id);
    pump();
    if (typeof first.fn === "function") apply(first.fn, undefined, first.args);
  }
  function start(fn, ms, args, repeat) {
    const id = nextId++;
    const delay = Math.max(0, Math.min(Number(ms) || 0, 2147483647));
    live.set(id, { id, fn, args, due: now + delay, order: order++, every: repeat ? Math.max(1, delay) : 0 });
    pump();
    return id;
  }
  const stop = (id) => { live.delete(id); };
  hidden(globalThis, "setTimeout", (fn, ms, ...args) => start(fn, ms, args, false));
  hidden(globalThis, "setInterval", (fn, ms, ...args) => start(fn, ms, args, true));
  hidden(globalThis, "setImmediate", (fn, ...args) => start(fn, 0, args, false));
  hidden(globalThis, "clearTimeout", stop);
  hidden(globalThis, "clearInterval", stop);
  hidden(globalThis, "clearImmediate", stop);
})
