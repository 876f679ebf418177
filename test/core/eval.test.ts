import { test } from "node:test";
import assert from "node:assert/strict";
import { RExec, DisposedError, DEFAULT_LIMITS } from "../../src/index.js";

test("r_eval returns the completion value, copied out", async () => {
  using rx = new RExec();
  assert.equal(await rx.r_eval("1 + 2"), 3);
  assert.equal(await rx.r_eval("let x = 5; x * 2"), 10);
  assert.deepEqual(await rx.r_eval("({ a: [1, 'two', null] })"), { a: [1, "two", null] });
});

test("r_exec runs statements; state persists across calls; r_exec resolves undefined", async () => {
  using rx = new RExec();
  assert.equal(await rx.r_exec("globalThis.n = 1; var m = 2"), undefined);
  await rx.r_exec("n += 40");
  assert.equal(await rx.r_eval("n + m - 2"), 41);
});

test("camelCase aliases eval/exec do the same as r_eval/r_exec", async () => {
  using rx = new RExec();
  await rx.exec("globalThis.q = 7");
  assert.equal(await rx.eval("q"), 7);
});

test("two instances share nothing", async () => {
  using a = new RExec();
  using b = new RExec();
  await a.r_exec("globalThis.secret = 'a'; Array.prototype.evil = 1; Object.prototype.polluted = true");
  assert.equal(await b.r_eval("typeof secret"), "undefined");
  assert.equal(await b.r_eval("[].evil"), undefined);
  assert.equal(await b.r_eval("({}).polluted"), undefined);
  assert.equal(await a.r_eval("({}).polluted"), true);
});

test("dispose is idempotent, later calls reject with DisposedError, Symbol.dispose works", async () => {
  const rx = new RExec();
  assert.equal(await rx.r_eval("1"), 1);
  rx.dispose();
  rx.dispose();
  assert.equal(rx.alive, false);
  await assert.rejects(rx.r_eval("1"), DisposedError);
  let inner: RExec;
  {
    using scoped = new RExec();
    inner = scoped;
    assert.equal(await scoped.r_eval("2"), 2);
  }
  await assert.rejects(inner.r_eval("1"), DisposedError);
});

test("dispose before the realm started is safe", async () => {
  const rx = new RExec();
  rx.dispose();
  await assert.rejects(rx.r_eval("1"), DisposedError);
});

test("bad options and arguments get clear errors", async () => {
  assert.throws(() => new RExec({ limits: { memoryBytes: -1 } }), /limits\.memoryBytes must be between/);
  assert.throws(() => new RExec({ limits: { timeoutMs: 1.5 } }), /whole number/);
  assert.throws(() => new RExec({ limits: { bogus: 1 } as never }), /unknown limit "bogus"/);
  assert.throws(() => new RExec({ nope: 1 } as never), /unknown RExec option "nope"/);
  assert.throws(() => new RExec({ globals: { "not valid": 1 } }), /not a valid global name/);
  assert.throws(() => new RExec({ verbose: 3 as never }), /verbose must be/);
  using rx = new RExec();
  await assert.rejects(rx.r_eval(42 as never), /code must be a string/);
  await assert.rejects(rx.r_eval("1", { filename: "a\0b" }), /NUL/);
});

test("limits have documented safe defaults", () => {
  const rx = new RExec();
  assert.deepEqual(rx.limits, DEFAULT_LIMITS);
  assert.ok(DEFAULT_LIMITS.memoryBytes <= 256 * 1024 * 1024);
  assert.ok(DEFAULT_LIMITS.timeoutMs <= 10_000);
  rx.dispose();
});

test("calls on one instance are serialised, not interleaved", async () => {
  using rx = new RExec({ globals: { wait: () => new Promise((r) => setTimeout(r, 20)) } });
  await rx.r_exec("globalThis.log = []");
  await Promise.all([
    rx.r_exec("(async () => { log.push('a1'); await wait(); log.push('a2'); })()"),
    rx.r_exec("(async () => { log.push('b1'); await wait(); log.push('b2'); })()"),
  ]);
  assert.deepEqual(await rx.r_eval("log"), ["a1", "a2", "b1", "b2"]);
});
