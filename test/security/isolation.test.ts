// Attack class: leaking state between two instances. One RExec is one realm;
// two never share mutable state — globals, builtins, prototypes, memory quota,
// CPU budget, output, host-function registries, guest functions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DisposedError, MemoryLimitError, TimeoutError } from "../../src/index.js";
import { assertHostClean, attempt, sandbox } from "./helpers.js";

const POISON = `globalThis.leak = "from-A"; Object.prototype.polluted = "A"; Array.prototype.push = () => "A"; JSON.stringify = () => "A";
  Symbol.for("shared").description; globalThis.sym = Symbol.for("rexec-shared"); Math.random = () => 0.5; Date.now = () => 1;
  Error.prepareStackTrace = () => "A"; console.log = () => "A"; Object.freeze(Object.prototype);`;
const PROBE = `[typeof leak, ({}).polluted, [].push(1), JSON.stringify([1]), Math.random() === 0.5 && Math.random() === 0.5, Date.now() === 1, Object.isFrozen(Object.prototype), typeof console.log("x")]`;
const CLEAN = ["undefined", undefined, 1, "[1]", false, false, false, "undefined"];

for (const variant of ["quickjs-ng", "quickjs"] as const) {
  test(`[${variant}] globals, prototypes and builtins poisoned in A are invisible in B (sequential and interleaved)`, async () => {
    const a = sandbox({ engine: variant });
    const b = sandbox({ engine: variant });
    try {
      await a.r_exec(POISON);
      assert.deepEqual(await b.r_eval(PROBE), CLEAN);
      // Interleaved: A keeps poisoning while B runs.
      const [, probe] = await Promise.all([a.r_exec(POISON + "; for (let i = 0; i < 1e5; i++);"), b.r_eval(PROBE)]);
      assert.deepEqual(probe, CLEAN);
      // A fresh instance after A is disposed is clean too.
      a.dispose();
      const c = sandbox({ engine: variant });
      try { assert.deepEqual(await c.r_eval(PROBE), CLEAN); } finally { c.dispose(); }
      assertHostClean();
    } finally {
      a.dispose();
      b.dispose();
    }
  });
}

test("a host object handed to two instances is copied into each: A's writes never reach B or the host", async () => {
  const shared = { n: 1, list: [1] };
  const a = sandbox({ globals: { shared } });
  const b = sandbox({ globals: { shared } });
  try {
    await a.r_exec("shared.n = 99; shared.list.push(2); shared.extra = 1");
    assert.deepEqual(await b.r_eval("shared"), { n: 1, list: [1] });
    assert.deepEqual(shared, { n: 1, list: [1] });
  } finally {
    a.dispose();
    b.dispose();
  }
});

test("memory: A at its cap does not take B's quota; B can still allocate its own", async () => {
  const limits = { memoryBytes: 24 * 1024 * 1024, timeoutMs: 5000 };
  const a = sandbox({ limits });
  const b = sandbox({ limits });
  try {
    await a.r_exec("globalThis.keep = []; try { for (;;) keep.push('a'.repeat(1e5)) } catch {}").catch(() => {});
    const r = await attempt(b, "(() => { const k = []; for (let i = 0; i < 120; i++) k.push('b'.repeat(1e5)); return k.length })()");
    assert.equal(r.error, undefined, `B could not allocate 12 MB under its own 24 MB cap: ${String(r.error)}`);
    assert.equal(r.value, 120);
    const r2 = await attempt(a, "let more = []; for (;;) more.push('a'.repeat(1e5))");
    assert.ok(r2.error instanceof MemoryLimitError || r2.error instanceof DisposedError, String(r2.error));
  } finally {
    a.dispose();
    b.dispose();
  }
});

test("CPU: A timing out does not charge B; B's call has its own budget", async () => {
  const a = sandbox({ limits: { timeoutMs: 200 } });
  const b = sandbox({ limits: { timeoutMs: 200 } });
  try {
    const [ra, rb] = await Promise.all([attempt(a, "for (;;) {}"), attempt(b, "let s = 0; for (let i = 0; i < 1e4; i++) s += i; s")]);
    assert.ok(ra.error instanceof TimeoutError);
    assert.equal(rb.value, 49995000);
    assert.equal(await a.r_eval("1 + 1"), 2);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test("output of A is never in B's output", async () => {
  const a = sandbox();
  const b = sandbox();
  try {
    await Promise.all([a.r_exec("console.log('secret-of-A'); console.error('err-of-A')"), b.r_exec("console.log('b')")]);
    assert.equal(b.output.stdout, "b\n");
    assert.equal(b.output.stderr, "");
    assert.match(a.output.stdout, /secret-of-A/);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test("host functions of A are not callable from B, even by guessing the kernel's ids", async () => {
  let aCalls = 0;
  const a = sandbox({ globals: { onlyA: () => ++aCalls } });
  const b = sandbox({ globals: { onlyB: () => 0 } });
  try {
    await a.r_eval("onlyA()");
    const r = await b.r_eval(`(() => { const found = []; for (const k of Object.getOwnPropertyNames(globalThis)) if (/only/.test(k)) found.push(k); return found })()`);
    assert.deepEqual(r, ["onlyB"]);
    assert.equal(aCalls, 1);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test("a guest function from a disposed instance fails cleanly and touches no other instance", async () => {
  const a = sandbox();
  const b = sandbox();
  try {
    const f = (await a.r_eval("() => globalThis.marker = 1")) as () => Promise<unknown>;
    a.dispose();
    await assert.rejects(f(), DisposedError);
    assert.equal(await b.r_eval("typeof marker"), "undefined");
  } finally {
    b.dispose();
  }
});
