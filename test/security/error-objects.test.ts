// Attack class: hostile error objects. `Error.prepareStackTrace` /
// `captureStackTrace` tricks, and thrown values whose `name`/`message`/`stack`
// (or prototype, or own props) are throwing getters, looping getters or
// Proxies. The host reads a thrown value only through the guest kernel under a
// budget, so every case must end quickly in a plain GuestError (or a limit
// error) that carries only copied strings and no host paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { GuestError, TimeoutError } from "../../src/index.js";
import { assertHostClean, assertNoLeak, attempt, runHostile, sandbox } from "./helpers.js";

const TIMEOUT = 300;
const BOUND = TIMEOUT + 250 + 2000; // call budget + error-extraction budget + generous slack
const hostPrepare = (Error as { prepareStackTrace?: unknown }).prepareStackTrace;

const throwers: Record<string, string> = {
  "prepareStackTrace returning frames' this": "Error.prepareStackTrace = (e, frames) => frames.map((f) => f.getThis && f.getThis()); throw new Error('x')",
  "prepareStackTrace that loops": "Error.prepareStackTrace = () => { for (;;) {} }; throw new Error('x')",
  "prepareStackTrace that throws": "Error.prepareStackTrace = () => { throw new Error('inner') }; throw new Error('x')",
  "captureStackTrace on an object": "const o = {}; if (Error.captureStackTrace) Error.captureStackTrace(o); throw Object.assign(new Error('x'), { captured: o.stack })",
  "throwing name getter": "throw Object.defineProperty(new Error('m'), 'name', { get() { throw new Error('no name') } })",
  "throwing message getter": "throw Object.defineProperty(new Error('m'), 'message', { get() { throw 1 } })",
  "throwing stack getter": "throw Object.defineProperty(new Error('m'), 'stack', { get() { throw new TypeError('no stack') } })",
  "looping name getter": "throw Object.defineProperty(new Error('m'), 'name', { get() { for (;;) {} } })",
  "looping message getter": "throw Object.defineProperty(new Error('m'), 'message', { get() { for (;;) {} } })",
  "looping stack getter": "throw Object.defineProperty(new Error('m'), 'stack', { get() { while (true) {} } })",
  "message object with looping toString": "throw Object.assign(new Error('m'), { message: { toString() { for (;;) {} } } })",
  "name object with throwing Symbol.toPrimitive": "const e = new Error('m'); e.name = { [Symbol.toPrimitive]() { throw new Error('prim') } }; throw e",
  "symbol name": "const e = new Error('m'); e.name = Symbol('s'); throw e",
  "looping own enumerable getter": "throw Object.defineProperty(new Error('m'), 'extra', { enumerable: true, get() { for (;;) {} } })",
  "throwing own enumerable getter": "throw Object.defineProperty(new Error('m'), 'extra', { enumerable: true, get() { throw new Error('g') } })",
  "thrown Proxy, all traps loop": "throw new Proxy({}, { get() { for (;;) {} }, getPrototypeOf() { for (;;) {} }, ownKeys() { for (;;) {} }, has() { for (;;) {} }, getOwnPropertyDescriptor() { for (;;) {} } })",
  "thrown Proxy, all traps throw": "throw new Proxy({}, { get() { throw 1 }, getPrototypeOf() { throw 2 }, ownKeys() { throw 3 }, has() { throw 4 } })",
  "thrown Proxy around an Error": "throw new Proxy(new Error('inner'), { get(t, k) { if (k === 'stack') for (;;) {} return Reflect.get(t, k) } })",
  "thrown revoked Proxy": "const r = Proxy.revocable(new Error('x'), {}); r.revoke(); throw r.proxy",
  "prototype chain is a looping Proxy": "const e = new Error('m'); delete e.message; Object.setPrototypeOf(e, new Proxy(Error.prototype, { get() { for (;;) {} } })); throw e",
  "Symbol.hasInstance on Error that loops": "Object.defineProperty(Error, Symbol.hasInstance, { value() { for (;;) {} } }); throw { name: 'X', message: 'y' }",
  "error whose cause is a looping Proxy": "throw new Error('m', { cause: new Proxy({}, { get() { for (;;) {} }, ownKeys() { for (;;) {} } }) })",
  "AggregateError with hostile errors": "throw new AggregateError([new Proxy({}, { get() { throw 1 } })], 'agg')",
  "huge stack string": "throw Object.defineProperty(new Error('m'), 'stack', { value: ('    at evil (/etc/passwd:1:1)\\n').repeat(200000) })",
  "huge message": "throw new Error('m'.repeat(3e6))",
  "throw in finally after timeout, hostile error": "try { for (;;) {} } finally { throw Object.defineProperty(new Error('f'), 'name', { get() { for (;;) {} } }) }",
  "loop in catch after interrupt": "for (let i = 0; i < 3; i++) { try { for (;;) {} } catch (e) { for (;;) {} } }",
  "error getter that calls exit": "throw Object.defineProperty(new Error('m'), 'name', { get() { exit(3) } })",
  "error getter that floods output": "throw Object.defineProperty(new Error('m'), 'name', { get() { for (;;) console.log('x'.repeat(1000)) } })",
  "thrown function": "throw function evil() { return process }",
  "thrown object with Function-returning toJSON": "throw { toJSON() { return Function }, valueOf() { for (;;) {} } }",
};

for (const [name, code] of Object.entries(throwers)) {
  test(`hostile thrown value: ${name}`, async () => {
    const sb = sandbox({ limits: { timeoutMs: TIMEOUT } });
    try {
      const outcome = await attempt(sb, code, 20_000);
      assert.ok(outcome.error, `expected an error, got ${inspect(outcome.value)}`);
      assert.ok(outcome.ms < BOUND, `reading the thrown value took ${outcome.ms.toFixed(0)} ms (bound ${BOUND})`);
      const e = outcome.error;
      assert.ok(e instanceof Error && e.constructor.name !== "Object", "the host got a real Error");
      // Every field of what the host got is plain host data: reading it runs no guest code
      // (the sandbox is disposed below, then the error is read again and must not change).
      const before = inspect(e, { depth: 6, getters: true, showHidden: true });
      assertNoLeak(e);
      if (e instanceof GuestError) {
        assert.equal(typeof e.guestName, "string");
        assert.equal(typeof e.message, "string");
        assert.ok(e.guestStack.length < 64 * 1024, "guest stack is bounded");
        for (const f of e.frames) assert.equal(typeof f.fileName, "string");
      }
      sb.dispose();
      assert.equal(inspect(e, { depth: 6, getters: true, showHidden: true }), before);
      assert.equal((Error as { prepareStackTrace?: unknown }).prepareStackTrace, hostPrepare, "host Error.prepareStackTrace untouched");
      assertHostClean();
    } finally {
      sb.dispose();
    }
  });
}

test("a guest that sets Error.prepareStackTrace does not affect host stack traces", async () => {
  await runHostile("Error.prepareStackTrace = () => 'pwned-stack'; Error.stackTraceLimit = 0; 1");
  const hostStack = new Error("host").stack!;
  assert.doesNotMatch(hostStack, /pwned-stack/);
  assert.match(hostStack, /error-objects\.test\.ts/);
});

test("looping getter on a thrown value ends as a bounded error and the sandbox stays usable", async () => {
  const sb = sandbox({ limits: { timeoutMs: TIMEOUT } });
  try {
    const first = await attempt(sb, throwers["looping stack getter"]!);
    assert.ok(first.error instanceof GuestError || first.error instanceof TimeoutError, String(first.error));
    assert.equal(await sb.r_eval("6 * 7"), 42);
  } finally {
    sb.dispose();
  }
});

test("host function errors reach the guest as plain guest errors (name + message only)", async () => {
  const hostError = Object.assign(new Error(`secret path ${process.cwd()}`), { secret: "x" });
  hostError.message = "visible message";
  const sb = sandbox({
    globals: {
      fail: () => { throw hostError; },
      failAsync: async () => { throw hostError; },
      failWeird: () => { throw Object.defineProperty(new Error("w"), "name", { get() { return "WeirdName"; } }); },
    },
  });
  try {
    const seen = await sb.r_eval(`(async () => {
      const out = [];
      for (const f of [fail, failAsync, failWeird]) {
        try { await f() } catch (e) { out.push([e instanceof Error, e.name, e.message, Object.keys(e).join(","), String(e.stack)]) }
      }
      return out;
    })()`);
    assertNoLeak(seen);
    const rows = seen as Array<[boolean, string, string, string, string]>;
    assert.equal(rows.length, 3);
    for (const [isError, , , keys, stack] of rows) {
      assert.equal(isError, true);
      assert.equal(keys, "", "no host own properties cross");
      assert.doesNotMatch(stack, /\.ts:|node:internal|\/work\//);
    }
    assert.equal(rows[0]![2], "visible message");
    assertHostClean();
  } finally {
    sb.dispose();
  }
});

// Was a bug (realm.ts errorName() interpolated a non-string name and a throwing toString killed the sandbox); fixed upstream.
test("a host function throwing an Error whose name is a non-string object gives the guest a plain error (sandbox survives)", async () => {
  const sb = sandbox({
    globals: { failHostile: () => { const e = new Error("h"); (e as { name: unknown }).name = { toString() { throw new Error("host-side toString"); } }; throw e; } },
  });
  try {
    const r = await attempt(sb, "(() => { try { failHostile() } catch (e) { return [e instanceof Error, e.message] } })()");
    assert.equal(r.error, undefined, String(r.error));
    assert.deepEqual(r.value, [true, "h"]);
    assert.equal(sb.alive, true);
  } finally {
    sb.dispose();
  }
});
