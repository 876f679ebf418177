// The implicit-call rule, by class: for EVERY name in IMPLICIT_CALL_NAMES, a
// guest function under it never reaches the host — in a result, nested, in a
// thrown value, in a host-function argument — in-thread, in worker mode and in
// the pool; a function under any other name does. (The careless-host oracle
// only catches the names whose implicit call fails loudly; this one catches
// each name being dropped from the rule.)
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { GuestError, RExec } from "../../src/index.js";
import { RExecPool } from "../../src/pool/index.js";
import { IMPLICIT_CALL_NAMES } from "../../src/boundary/implicit-calls.js";

const objectSource = `({ ${[...IMPLICIT_CALL_NAMES].map((n) => `${JSON.stringify(n)}: function () { return 1 }`).join(", ")}, keep: function () { return 2 }, data: 3 })`;

function assertStripped(value: unknown, where: string): void {
  const o = value as Record<string, unknown>;
  for (const name of IMPLICIT_CALL_NAMES) assert.equal(Object.hasOwn(o, name), false, `${where}: ${name} crossed`);
  assert.equal(typeof o.keep, "function", `${where}: other functions still cross`);
  assert.equal(o.data, 3);
}

const pool = new RExecPool({ size: 1 });
after(() => pool.close({ force: true }));

for (const mode of ["thread", "worker"] as const) {
  test(`every implicit-call name is left out of results, thrown values and arguments (${mode})`, async () => {
    let argument: unknown;
    using rx = new RExec({ worker: mode === "worker", globals: { take: (x: unknown) => void (argument = x) } });
    const nested = (await rx.r_eval(`[${objectSource}]`)) as unknown[];
    assertStripped(nested[0], "nested result");
    const root = await rx.r_eval(`(() => { const o = ${objectSource}; delete o.then; return o })()`);
    assertStripped(root, "root result");
    const thrown = await rx.r_eval(`throw [${objectSource}]`).catch((e: unknown) => e);
    assert.ok(thrown instanceof GuestError);
    assertStripped((thrown.thrown as unknown[])[0], "thrown value");
    await rx.r_eval(`take([${objectSource}])`);
    assertStripped((argument as unknown[])[0], "host-function argument");
  });
}

test("every implicit-call name is left out of pool results", async () => {
  const { value } = await pool.run(`[${objectSource}]`);
  assertStripped((value as unknown[])[0], "pool result");
});
