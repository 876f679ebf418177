// Deterministic mode: the same code with the same seed and start time gives the
// same output, byte for byte; timers run in virtual-time order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RExec, RExecPool } from "../../src/index.js";

// Everything a program can read that is normally different on each run.
const PROGRAM = `
  const out = [];
  out.push(Math.random(), Math.random(), crypto.randomUUID(), Array.from(crypto.getRandomValues(new Uint8Array(8))).join());
  out.push(Date.now(), new Date().toISOString(), String(Date()).slice(0, 15), performance.now());
  out.push(new Date(0).toLocaleString(), (1234.5).toLocaleString(), Intl.DateTimeFormat().resolvedOptions().timeZone);
  await new Promise((resolve) => {
    setTimeout(() => { out.push('t50@' + Date.now()); }, 50);
    setTimeout(() => { out.push('t10@' + Date.now()); Promise.resolve().then(() => out.push('job@' + Date.now())); }, 10);
    const iv = setInterval(() => { out.push('iv@' + Date.now()); if (Date.now() >= ${0} + 1030) clearInterval(iv); }, 15);
    setTimeout(() => { out.push('end@' + Date.now() + '/' + performance.now()); resolve(); }, 100);
  });
  JSON.stringify(out);
`;

for (const worker of [false, true]) {
  const mode = worker ? "worker" : "in-thread";

  test(`${mode}: two runs with the same seed and start time print the same bytes`, async () => {
    const run = async (seed: number | string, now = 1000) => {
      using rx = new RExec({ worker, deterministic: { seed, now } });
      return (await rx.r_eval(PROGRAM)) as string;
    };
    const a = await run(42);
    const b = await run(42);
    assert.equal(a, b);
    assert.notEqual(await run(43), a);
    assert.notEqual(await run("42"), a, "a string seed is not the number seed");
    const out = JSON.parse(a) as unknown[];
    assert.equal(out[4], 1000);
    assert.equal(out[5], "1970-01-01T00:00:01.000Z");
    assert.equal(out[7], 0);
    assert.equal(out[10], "UTC");
    // Virtual-time order: 10, (its promise job), 15, 30, 45, 50, 60 … 100, and the clock reads each timer's due time.
    assert.deepEqual(out.slice(11), ["t10@1010", "job@1010", "iv@1015", "iv@1030", "t50@1050", "end@1100/100"]);
  });
}

test("crypto's bytes come from the seed; Math.random is uniform-looking and in [0, 1)", async () => {
  using a = new RExec({ deterministic: { seed: 7 } });
  using b = new RExec({ deterministic: { seed: 7 } });
  const code = "const xs = Array.from({ length: 2000 }, Math.random); [xs.every((x) => x >= 0 && x < 1), Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5) < 0.05, new Set(xs).size, crypto.randomUUID()]";
  const ra = (await a.r_eval(code)) as unknown[];
  assert.deepEqual(ra, await b.r_eval(code));
  assert.deepEqual(ra.slice(0, 3), [true, true, 2000]);
  assert.match(String(ra[3]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("Date keeps its behaviour apart from the clock; clearTimeout works; true means seed 0 at the epoch", async () => {
  using rx = new RExec({ deterministic: true });
  assert.deepEqual(
    await rx.r_eval(`[
      Date.now(), new Date(5).getTime(), new Date(2020, 0, 2).getUTCDate(), Date.UTC(2000, 0), Date.parse('2000-01-01T00:00:00Z'),
      new Date() instanceof Date, Date.prototype.constructor === Date, Date.length, typeof Date(),
    ]`),
    [0, 5, 2, 946684800000, 946684800000, true, true, 7, "string"],
  );
  assert.deepEqual(await rx.r_eval("await new Promise((r) => { const t = setTimeout(() => r('cleared timer ran'), 5); clearTimeout(t); setTimeout(() => r('ok@' + Date.now()), 20); })"), "ok@20");
});

test("bad deterministic options are refused at construction", () => {
  assert.throws(() => new RExec({ deterministic: { seed: 1.5 } }), /seed must be/);
  assert.throws(() => new RExec({ deterministic: { now: Infinity } }), /now must be/);
  assert.throws(() => new RExec({ deterministic: { seed: "x".repeat(300) } }), /seed must be/);
  assert.throws(() => new RExec({ deterministic: { clock: 1 } as never }), /unknown deterministic option "clock"/);
});

test("the pool: every run of a deterministic pool starts from the same seed and clock", async () => {
  const pool = new RExecPool({ size: 1, deterministic: { seed: 5, now: 86_400_000 } });
  try {
    const code = "[Math.random(), crypto.randomUUID(), new Date().toISOString()]";
    const a = await pool.run(code);
    const b = await pool.run(code);
    assert.deepEqual(a.value, b.value);
    assert.equal((a.value as unknown[])[2], "1970-01-02T00:00:00.000Z");
  } finally {
    await pool.close({ force: true });
  }
});
