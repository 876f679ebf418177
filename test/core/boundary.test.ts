import { test } from "node:test";
import assert from "node:assert/strict";
import { RExec, CloneError, GuestError } from "../../src/index.js";

test("every supported kind copies out exactly", async () => {
  using rx = new RExec();
  const v = (await rx.r_eval(`({
    s: "str\\u0000nul\\ud800lone", n: 1.5, neg0: -0, nan: NaN, inf: -Infinity, t: true, nul: null, u: undefined,
    big: -(2n ** 100n), date: new Date(86400000), re: /a+b/gi, map: new Map([[1, {k: 'v'}], ['x', [2]]]),
    set: new Set([1, 'a']), ab: new Uint8Array([1, 2, 255]).buffer, f64: new Float64Array([0.5, -2]),
    dv: new DataView(new ArrayBuffer(4), 1, 2), holes: [1, , 3], err: new TypeError('bad'),
  })`)) as Record<string, unknown>;
  assert.equal(v.s, "str\u0000nul\ud800lone");
  assert.equal(v.n, 1.5);
  assert.ok(Object.is(v.neg0, -0));
  assert.ok(Number.isNaN(v.nan));
  assert.equal(v.inf, -Infinity);
  assert.equal(v.t, true);
  assert.equal(v.nul, null);
  assert.ok("u" in v && v.u === undefined);
  assert.equal(v.big, -(2n ** 100n));
  assert.deepEqual(v.date, new Date(86400000));
  assert.ok(v.re instanceof RegExp && (v.re as RegExp).source === "a+b" && (v.re as RegExp).flags === "gi");
  assert.deepEqual(v.map, new Map<unknown, unknown>([[1, { k: "v" }], ["x", [2]]]));
  assert.deepEqual(v.set, new Set([1, "a"]));
  assert.deepEqual(new Uint8Array(v.ab as ArrayBuffer), new Uint8Array([1, 2, 255]));
  assert.deepEqual(v.f64, new Float64Array([0.5, -2]));
  assert.ok(v.dv instanceof DataView && (v.dv as DataView).byteLength === 2 && (v.dv as DataView).byteOffset === 1);
  assert.equal((v.holes as unknown[]).length, 3);
  assert.ok(!(1 in (v.holes as unknown[])));
  assert.ok(v.err instanceof GuestError);
  assert.equal((v.err as GuestError).guestName, "TypeError");
  assert.equal((v.err as GuestError).message, "bad");
});

test("host values of every kind copy in exactly and come back equal", async () => {
  const value = {
    s: "é\u0000\ud83d\ude00", n: -0, nan: NaN, big: 12345678901234567890n, d: new Date(1), re: /x/y,
    m: new Map([[{ k: 1 }, new Set([1])]]), u8: new Uint8Array([9, 8]), arr: [1, undefined, [2, [3]]],
  };
  using rx = new RExec({ globals: { value } });
  const back = (await rx.r_eval("value")) as typeof value;
  assert.deepEqual(back, value);
  assert.ok(Object.is(back.n, -0));
  assert.equal(await rx.r_eval("value.u8 instanceof Uint8Array && value.m instanceof Map && value.d instanceof Date"), true);
});

test("cycles and shared references are preserved both ways", async () => {
  const host: Record<string, unknown> = { name: "root" };
  host.self = host;
  host.pair = [host, host];
  using rx = new RExec({ globals: { host } });
  assert.equal(await rx.r_eval("host.self === host && host.pair[0] === host.pair[1]"), true);
  const out = (await rx.r_eval("const o = { list: [] }; o.list.push(o, o); o.me = o; o")) as { me: unknown; list: unknown[] };
  assert.equal(out.me, out);
  assert.equal(out.list[0], out);
  assert.equal(out.list[1], out);
});

test("__proto__ and constructor keys are plain data and never pollute the host", async () => {
  using rx = new RExec({ globals: { incoming: JSON.parse('{"__proto__": {"inPolluted": 1}, "constructor": {"prototype": {"x": 1}}}') } });
  const out = (await rx.r_eval(`
    const o = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted2": 1}}}');
    [o, Object.keys(incoming), Object.getPrototypeOf(incoming) === Object.prototype && incoming.__proto__.inPolluted, ({}).inPolluted]
  `)) as [Record<string, unknown>, string[], unknown, unknown];
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((Object.prototype as Record<string, unknown>).polluted2, undefined);
  assert.ok(Object.hasOwn(out[0], "__proto__"));
  assert.equal(Object.getPrototypeOf(out[0]), Object.prototype);
  assert.deepEqual(out[1].sort(), ["__proto__", "constructor"]);
  assert.equal(out[2], 1, "own __proto__ data key crosses as data");
  assert.equal(out[3], undefined, "guest prototype not polluted either");
});

test("symbols, WeakMaps and nested promises are refused with a clear CloneError", async () => {
  using rx = new RExec();
  await assert.rejects(rx.r_eval("Symbol('x')"), (e: unknown) => e instanceof CloneError && /symbol/.test((e as Error).message));
  await assert.rejects(rx.r_eval("({ w: new WeakMap() })"), (e: unknown) => e instanceof CloneError && /WeakMap/.test((e as Error).message));
  await assert.rejects(rx.r_eval("({ p: Promise.resolve(1) })"), (e: unknown) => e instanceof CloneError && /Promise/.test((e as Error).message));
  const bad = new RExec({ globals: { s: Symbol("x") } });
  await assert.rejects(bad.r_eval("1"), CloneError);
  bad.dispose();
  // the instance survives a refused copy
  assert.equal(await rx.r_eval("'still fine'"), "still fine");
});

test("sync host functions get copies and their results are copied back", async () => {
  const seen: unknown[] = [];
  const shared = { count: 0 };
  using rx = new RExec({
    globals: {
      record: (v: unknown) => { seen.push(v); return { ok: true, shared }; },
    },
  });
  const r = await rx.r_eval("const arg = { a: [1, 2] }; const res = record(arg); res.shared.count = 99; [res.ok, arg === res]");
  assert.deepEqual(r, [true, false]);
  assert.deepEqual(seen, [{ a: [1, 2] }]);
  assert.equal(shared.count, 0, "guest mutation of a copy never reaches the host object");
});

test("async host functions become promises the guest can await; rejections arrive as guest errors", async () => {
  using rx = new RExec({
    globals: {
      later: async (x: number) => { await new Promise((r) => setTimeout(r, 5)); return x + 1; },
      failLater: async () => { throw new RangeError("host said no"); },
    },
  });
  assert.equal(await rx.r_eval("(async () => (await later(1)) + (await later(10)))()"), 13);
  const caught = await rx.r_eval(`(async () => {
    try { await failLater(); } catch (e) { return [e instanceof RangeError, e.name, e.message, Object.keys(e), typeof e.stack === 'string' && !e.stack.includes('/')] }
  })()`);
  assert.deepEqual(caught, [true, "RangeError", "host said no", [], true]);
});

test("host errors reach the guest carrying only name and message", async () => {
  const hostError = Object.assign(new TypeError("denied"), { secret: "s3cr3t", code: "E_HOST" });
  using rx = new RExec({ globals: { boom: () => { throw hostError; } } });
  const r = (await rx.r_eval(`try { boom() } catch (e) { ({ name: e.name, message: e.message, keys: Object.getOwnPropertyNames(e), stack: String(e.stack), proto: e.constructor === TypeError }) }`)) as Record<string, unknown>;
  assert.equal(r.name, "TypeError");
  assert.equal(r.message, "denied");
  assert.equal(r.proto, true);
  assert.ok(!JSON.stringify(r).includes("s3cr3t"));
  assert.ok(!JSON.stringify(r).includes("E_HOST"));
  assert.ok(!String(r.stack).includes(process.cwd()), "no host path in the guest-visible stack");
});

test("constructor.constructor on every value the host hands in is the guest's own Function", async () => {
  using rx = new RExec({
    globals: {
      obj: { a: 1 }, arr: [1], str: "s", num: 1, date: new Date(), re: /x/, map: new Map(), set: new Set(), u8: new Uint8Array(1),
      err: new Error("e"), fn: () => 1, afn: async () => 1, thrower: () => { throw new Error("x"); }, rejecter: async () => { throw new Error("y"); },
      returnsFn: () => () => 2,
    },
  });
  const result = await rx.r_eval(`(async () => {
    const values = [obj, arr, str, num, date, re, map, set, u8, err, fn, afn, returnsFn, returnsFn(), afn()];
    try { thrower() } catch (e) { values.push(e) }
    try { await rejecter() } catch (e) { values.push(e) }
    const probes = [];
    for (const v of values) {
      const F = v.constructor.constructor;
      probes.push(F === Function && F('return typeof process === "object" ? Object.keys(process).join() : "none"')() !== undefined
        && F('return typeof require')() === 'undefined'
        && F('try { return typeof globalThis.process.binding } catch { return "undefined" }')() === 'undefined');
    }
    return probes;
  })()`) as boolean[];
  assert.equal(result.length, 17);
  assert.ok(result.every(Boolean), JSON.stringify(result));
});

test("guest functions returned to the host are async callables under the limits", async () => {
  using rx = new RExec({ limits: { timeoutMs: 200 } });
  const double = (await rx.r_eval("(x) => x * 2")) as (x: number) => Promise<number>;
  assert.equal(typeof double, "function");
  assert.equal(await double(21), 42);
  const spin = (await rx.r_eval("() => { while (true) {} }")) as () => Promise<unknown>;
  await assert.rejects(spin(), { name: "TimeoutError" });
  const api = (await rx.r_eval("({ greet: (n) => 'hi ' + n, nested: { f: async (a) => a.map(x => x + 1) } })")) as {
    greet: (n: string) => Promise<string>; nested: { f: (a: number[]) => Promise<number[]> };
  };
  assert.equal(await api.greet("you"), "hi you");
  assert.deepEqual(await api.nested.f([1, 2]), [2, 3]);
});

test("host functions handed to a guest function as arguments are callable from the guest", async () => {
  using rx = new RExec();
  const apply = (await rx.r_eval("(f, x) => f(x) + 1")) as (f: (x: number) => number, x: number) => Promise<number>;
  assert.equal(await apply((x) => x * 10, 4), 41);
});

test("primitive fast paths carry exactly what the codec would (NUL, lone surrogates, U+FFFD, -0, booleans)", async () => {
  const seen: unknown[] = [];
  using rx = new RExec({ globals: { echo: (...a: unknown[]) => { seen.push(a); return a[0]; } } });
  const samples = ["plain", "nul\u0000inside", "lone\ud800", "\ufffd replacement", "é😀", "x".repeat(5000)];
  for (const s of samples) {
    seen.length = 0;
    const back = await rx.r_eval(`echo(${JSON.stringify(s)}, 1, true, undefined)`);
    assert.equal(back, s);
    assert.deepEqual(seen, [[s, 1, true, undefined]]);
  }
  assert.ok(Object.is(await rx.r_eval("echo(-0)"), -0));
  const id = (await rx.r_eval("(a, b, c) => [a, b, c]")) as (...a: unknown[]) => Promise<unknown>;
  for (const s of samples) assert.deepEqual(await id(s, -0, undefined), [s, -0, undefined]);
  // A lying kernel caller cannot make the host read an object: the fast bridge converts, never hands objects over.
  assert.deepEqual(await rx.r_eval("typeof echo({ toString() { return 'x' } })"), "object");
});
