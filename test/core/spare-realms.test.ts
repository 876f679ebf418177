import { test } from "node:test";
import assert from "node:assert/strict";
import { RExec, TimeoutError } from "../../src/index.js";
import { spareStats } from "../../src/boundary/spare-realms.js";

const idle = () => new Promise((r) => setTimeout(r, 200));

test("a spare realm is handed out fresh and takes on its new owner's limits and logger", async () => {
  const a = new RExec({ limits: { timeoutMs: 5000 } });
  await a.r_exec("globalThis.leak = 'from a'; Object.prototype.polluted = 1");
  a.dispose();
  await idle(); // the spare for this engine configuration is built while the host is idle
  const takenBefore = spareStats.taken;
  {
    const lines: string[] = [];
    using b = new RExec({ limits: { timeoutMs: 50 }, verbose: (l) => lines.push(l) });
    assert.equal(await b.r_eval("typeof leak + ' ' + ({}).polluted"), "undefined undefined");
    assert.equal(spareStats.taken, takenBefore + 1, "b got the spare instead of building a realm");
    await assert.rejects(b.r_eval("for (;;) {}"), (e: unknown) => e instanceof TimeoutError && (e as TimeoutError).value === 50);
    assert.ok(lines.some((l) => /limit: timeoutMs \(50\)/.test(l)), "the spare logs to its new owner");
  }
});
