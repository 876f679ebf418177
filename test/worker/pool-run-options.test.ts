// RExecPool.run(code, { input, globals }) (issue 12): per-run data and capabilities without
// pasting JSON into the code; options validated with clear errors.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { CloneError, GuestError, RExecPool } from "../../src/index.js";

describe("RExecPool.run options", () => {
  const pool = new RExecPool({ size: 1, globals: { base: 100, twice: (x: number) => x * 2 } });
  after(() => pool.close({ force: true }));

  it("input is copied in as the global `input`", async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `row ${i}` }));
    const { value } = await pool.run("input.rows.filter((r) => r.id % 100 === 0).map((r) => r.name).join(',') + '|' + input.bytes.length", {
      input: { rows, bytes: new Uint8Array([1, 2, 3]) },
    });
    assert.equal(value, "row 0,row 100,row 200,row 300,row 400,row 500,row 600,row 700,row 800,row 900|3");
    assert.equal((await pool.run("input", { input: 7 })).value, 7);
    assert.equal((await pool.run("input === null", { input: null })).value, true);
    // Runs stay stateless: the next run has no input.
    assert.equal((await pool.run("typeof input")).value, "undefined");
    // A copy: the guest changing it does not change the host's value.
    const data = { n: 1 };
    await pool.run("input.n = 2", { input: data });
    assert.equal(data.n, 1);
  });

  it("globals are defined for that run only; functions work; the pool's own globals stay", async () => {
    let seen: unknown;
    const { value } = await pool.run("record(rate * base); twice(rate)", { globals: { rate: 3, record: (v: unknown) => { seen = v; } } });
    assert.equal(value, 6);
    assert.equal(seen, 300);
    assert.equal((await pool.run("typeof rate + typeof record")).value, "undefinedundefined");
    assert.equal((await pool.run("base", { globals: { base: 1 } })).value, 1);
    assert.equal((await pool.run("base")).value, 100);
    const later = await pool.run("await slow(4)", { globals: { slow: async (x: number) => x + 1 } });
    assert.equal(later.value, 5);
  });

  it("bad options are refused with clear errors", async () => {
    await assert.rejects(pool.run("1", { globals: 5 } as never), /options\.globals must be an object/);
    await assert.rejects(pool.run("1", { globals: { "not a name": 1 } }), /"not a name" is not a valid global name/);
    await assert.rejects(pool.run("1", { input: 1, globals: { input: 2 } }), /both/);
    await assert.rejects(pool.run("1", { bogus: 1 } as never), /unknown run option "bogus"/);
    await assert.rejects(pool.run("1", { input: Symbol("x") } as never), CloneError);
    await assert.rejects(pool.run("1", { input: { f() {} } } as never), (e: unknown) => e instanceof TypeError || e instanceof CloneError);
    // The pool still works.
    assert.equal((await pool.run("input + 1", { input: 1 })).value, 2);
  });

  it("a large input is passed as data, not code", async () => {
    const big = { items: Array.from({ length: 50_000 }, (_, i) => ({ i, s: "x".repeat(50) })) };
    const { value } = await pool.run("input.items.length", { input: big });
    assert.equal(value, 50_000);
    const error = await pool.run("input.missing.x", { input: {} }).catch((e) => e);
    assert.ok(error instanceof GuestError);
  });
});
