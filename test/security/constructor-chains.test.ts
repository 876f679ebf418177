// Attack class: reaching host `process` / `require` / `Function` through
// `constructor` chains of every kind of value the host hands in — globals of
// every type, host function wrappers, errors thrown and promises returned by
// host functions, arguments the host passes to guest functions, and values
// returned by host functions.
//
// Oracle: `payload(F)` runs code through whatever Function constructor F is; if
// F were the host's, it would set a flag on the host's globalThis and return the
// host canaries (global, env var), `typeof require`, V8's version and a pid.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertGuestRealm, assertHostClean, attempt, payload, sandbox } from "./helpers.js";

class HostThing { a = 1; method() { return 1; } }
const hostGlobals: Record<string, unknown> = {
  str: "s", num: 1.5, big: 10n, bool: true, nul: null, undef: undefined,
  obj: { a: { b: [1, { c: 2 }] } }, arr: [1, "x", { y: 2 }], nullProto: Object.assign(Object.create(null), { q: 1 }),
  date: new Date(0), re: /x/g, map: new Map<unknown, unknown>([[{ k: 1 }, { v: 1 }]]), set: new Set([{ s: 1 }]),
  ab: new ArrayBuffer(8), u8: new Uint8Array(4), f64: new Float64Array(2), dv: new DataView(new ArrayBuffer(4)),
  err: new TypeError("t"), errWithProps: Object.assign(new Error("p"), { code: "E_HOST", detail: { x: 1 } }),
  inst: new HostThing(), sharedBuf: new SharedArrayBuffer(8),
  fn: (..._args: unknown[]) => ({ nested: { deeper: [] } }),
  afn: async () => ({ x: { y: 1 } }),
  mkfn: () => () => 1,
  fnInObj: { deep: { f: () => 1, af: async () => 2 } },
  echo: (x: unknown) => x,
  thrower: () => { throw new Error("host error"); },
  typeThrower: () => { throw new TypeError("host type error"); },
  customThrower: () => { const e = new Error("custom"); e.name = "constructor"; throw e; },
  protoThrower: () => { const e = new Error("proto"); e.name = "__proto__"; throw e; },
  objThrower: () => { throw { plain: true, fn: () => 1 }; },
  stringThrower: () => { throw "host string"; },
  rejecter: async () => { throw new RangeError("host rejection"); },
  rejectObj: () => Promise.reject({ plain: 1 }),
  thenable: () => ({ then: (res: (v: unknown) => void) => res({ resolved: true }) }),
};

// Expressions (sync) that produce a value the host handed in.
const sources: Record<string, string> = {
  ...Object.fromEntries(Object.keys(hostGlobals).map((k) => [k, k])),
  "fn()": "fn()",
  "fn().nested": "fn().nested",
  "mkfn()": "mkfn()",
  "fnInObj.deep.f": "fnInObj.deep.f",
  "echo(echo)": "echo(echo)",
  "echo({})": "echo({})",
  "caught thrower": "(() => { try { thrower() } catch (e) { return e } })()",
  "caught typeThrower": "(() => { try { typeThrower() } catch (e) { return e } })()",
  "caught customThrower": "(() => { try { customThrower() } catch (e) { return e } })()",
  "caught protoThrower": "(() => { try { protoThrower() } catch (e) { return e } })()",
  "caught objThrower": "(() => { try { objThrower() } catch (e) { return e } })()",
  "caught stringThrower": "(() => { try { stringThrower() } catch (e) { return e } })()",
  "afn() promise": "afn()",
  "rejecter() promise": "(() => { const p = rejecter(); p.catch(() => {}); return p })()",
  "thenable()": "thenable()",
  "map key": "[...map.keys()][0]",
  "set value": "[...set][0]",
};
// Ways of climbing from a value to a Function constructor.
const chains: Record<string, (v: string) => string> = {
  "constructor.constructor": (v) => `(${v}).constructor.constructor`,
  "__proto__.constructor.constructor": (v) => `(${v}).__proto__.constructor.constructor`,
  "getPrototypeOf chain": (v) => `(() => { let o = Object(${v}), F; while (o) { const c = Object.getOwnPropertyDescriptor(o, "constructor"); if (c && typeof c.value === "function") { F = c.value.constructor; } o = Object.getPrototypeOf(o); } return F; })()`,
  "method.constructor": (v) => `(() => { const o = Object(${v}); for (const k of ["toString", "valueOf", "then", "method", "hasOwnProperty"]) { if (typeof o[k] === "function") return o[k].constructor; } return Function; })()`,
  "own function props": (v) => `(() => { const o = Object(${v}); for (const k of Reflect.ownKeys(o)) { const d = Object.getOwnPropertyDescriptor(o, k); for (const x of [d.value, d.get, d.set]) if (typeof x === "function") return x.constructor; } return Function; })()`,
  "descriptor getters": (v) => `(() => { const ds = Object.getOwnPropertyDescriptors(Object.getPrototypeOf(Object(${v})) || {}); for (const k in ds) { const g = ds[k].get; if (g) return g.constructor; } return Function; })()`,
};

test("constructor chains on every host-provided value stay in the guest realm", async (t) => {
  const sb = sandbox({ globals: hostGlobals, limits: { timeoutMs: 2000 } });
  try {
    for (const [sourceName, source] of Object.entries(sources)) {
      await t.test(sourceName, async () => {
        for (const [chainName, chain] of Object.entries(chains)) {
          const outcome = await attempt(sb, payload(chain(source)));
          assertGuestRealm(outcome.value);
          assertGuestRealm(outcome.error?.message);
          assertHostClean();
          void chainName;
        }
      });
    }
  } finally {
    sb.dispose();
  }
});

test("function wrappers: call/apply/bind/caller/arguments/prototype reveal nothing of the host", async () => {
  const sb = sandbox({ globals: hostGlobals });
  try {
    const exprs = [
      "fn.call.constructor", "fn.apply.constructor", "fn.bind(null).constructor", "Reflect.getPrototypeOf(fn).constructor",
      "(() => { try { return fn.caller && fn.caller.constructor } catch { return Function } })()",
      "(() => { try { return fn.arguments && fn.arguments.constructor.constructor } catch { return Function } })()",
      "(fn.prototype || {}).constructor.constructor",
      "Object.getOwnPropertyDescriptor(fn, 'name').value.constructor.constructor",
      "fn.toString.constructor",
      "(() => { let F; function spy() { F = spy.caller; } try { fn(spy) } catch {} return F && F.constructor })()",
      "(() => { let found = Function; const seen = new Set(); const walk = (o, d) => { if (!o || d > 4 || seen.has(o)) return; seen.add(o); for (const k of Reflect.ownKeys(o)) { let v; try { v = o[k] } catch { continue } if (typeof v === 'function' && v !== Function) found = v.constructor; if (typeof v === 'object' || typeof v === 'function') walk(v, d + 1); } }; walk(fnInObj, 0); walk(afn, 0); return found })()",
    ];
    for (const e of exprs) {
      const outcome = await attempt(sb, payload(e));
      assertGuestRealm(outcome.value);
      assertHostClean();
    }
    // The host-function wrapper's source must not be the host's source text.
    const src = await sb.r_eval("fn.toString() + Function.prototype.toString.call(thrower)");
    assert.doesNotMatch(String(src), /nested: \{ deeper|host error/);
  } finally {
    sb.dispose();
  }
});

test("promises and errors produced by host functions stay in the guest realm (async)", async () => {
  const sb = sandbox({ globals: hostGlobals });
  try {
    const asyncSources = [
      "await afn()", "(await afn()).x", "await fnInObj.deep.af()",
      "await rejecter().catch((e) => e)", "await rejecter().then(null, (e) => e)", "await rejectObj().catch((e) => e)",
      "await thenable()", "await new Promise((r) => afn().then(r))",
      "await (async () => { try { await rejecter() } catch (e) { return e } })()",
      "afn().then", "afn().constructor", "Object.getPrototypeOf(afn())",
    ];
    for (const src of asyncSources) {
      for (const chain of ["constructor.constructor", "__proto__.constructor.constructor"]) {
        const code = `(async () => { const v = ${src}; return ${payload(`(v).${chain}`)} })()`;
        const outcome = await attempt(sb, code);
        assertGuestRealm(outcome.value);
        assertHostClean();
      }
    }
  } finally {
    sb.dispose();
  }
});

test("arguments the host passes to a guest function stay in the guest realm", async () => {
  const sb = sandbox({ limits: { timeoutMs: 2000 } });
  try {
    const guestFn = (await sb.r_eval(`(function (...args) {
      const out = [];
      for (const a of args) {
        for (const F of [() => a.constructor.constructor, () => Object.getPrototypeOf(a).constructor.constructor, () => a.then && a.then.constructor, () => arguments.callee.caller && arguments.callee.caller.constructor]) {
          let got; try { got = F() } catch { continue }
          if (typeof got === "function") out.push(${payload("got")});
        }
      }
      return out;
    })`)) as (...a: unknown[]) => Promise<unknown>;
    if (typeof guestFn !== "function") assert.fail("guest function did not cross");
    const hostArgs = [1, "s", 2n, true, null, undefined, { a: {} }, [1, [2]], new Date(), /r/, new Map([[1, {}]]), new Set([{}]),
      new Uint8Array(2), new ArrayBuffer(2), new Error("e"), () => 1, async () => 2, { then: (r: (v: number) => void) => r(1) }];
    const results = (await guestFn(...hostArgs)) as unknown[];
    assert.ok(Array.isArray(results) && results.length > 0);
    for (const r of results) assertGuestRealm(r);
    assertHostClean();
  } finally {
    sb.dispose();
  }
});

test("values returned by host functions are copies: guest writes do not reach host objects", async () => {
  const shared = { count: 1, inner: { list: [1, 2] } };
  const hostArr = [1, 2, 3];
  const sb = sandbox({ globals: { shared, getShared: () => shared, getArr: () => hostArr, take: (o: { count: number }) => { o.count++; return o; } } });
  try {
    await sb.r_exec(`shared.count = 999; shared.inner.list.push(3); getShared().count = 7; getShared().inner.polluted = 1; getArr().length = 0; getArr().push(4);
      Object.getPrototypeOf(getShared()).polluted = "yes"; getShared().__proto__.isAdmin = true;`);
    assert.deepEqual(shared, { count: 1, inner: { list: [1, 2] } });
    assert.deepEqual(hostArr, [1, 2, 3]);
    assert.deepEqual(await sb.r_eval("(() => { const o = { count: 1 }; const r = take(o); return [o.count, r.count, r === o] })()"), [1, 2, false]);
    assertHostClean();
  } finally {
    sb.dispose();
  }
});
