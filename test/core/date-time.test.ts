/**
 * The guest's Date runs in UTC whatever the host's time zone: local-time
 * methods equal their UTC twins, `getTimezoneOffset()` is 0, strings say
 * GMT+0000. The host here runs in America/New_York (checked first, so the
 * test cannot pass merely because the host is already on UTC).
 */
process.env.TZ = "America/New_York";

import { test } from "node:test";
import assert from "node:assert/strict";
import { RExec } from "../../src/index.js";
import type { EngineVariantName } from "../../src/engine/wasm-variant.js";

/** Evaluated in the guest: local-time facts that differ from UTC in any zone but UTC. */
const PROBE = `(() => {
  const epoch = new Date(0);
  const summer = new Date(Date.UTC(2021, 6, 15, 3, 4, 5));
  const out = {
    toString: epoch.toString(),
    summerString: summer.toString(),
    timeString: summer.toTimeString(),
    dateString: new Date(Date.UTC(2021, 0, 1, 2)).toDateString(),
    locale: epoch.toLocaleString(),
    offsets: [epoch.getTimezoneOffset(), summer.getTimezoneOffset()],
    localCtor: new Date(2021, 6, 15, 3, 4, 5).getTime() === summer.getTime(),
    localParse: Date.parse("2021-07-15T03:04:05") === summer.getTime(),
    setHours: new Date(new Date(0).setHours(5)).toISOString(),
    mismatches: [],
  };
  for (const t of [0, -1, 1e12, summer.getTime(), Date.UTC(1900, 1, 28, 23), Date.UTC(2100, 11, 31, 23, 59)]) {
    const d = new Date(t);
    for (const name of ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"]) {
      if (d["get" + name]() !== d["getUTC" + name]()) out.mismatches.push(name + "@" + t);
    }
  }
  return out;
})()`;

async function check(rx: RExec): Promise<void> {
  const r = (await rx.r_eval(PROBE)) as Record<string, unknown>;
  assert.equal(r.toString, "Thu Jan 01 1970 00:00:00 GMT+0000");
  assert.equal(r.summerString, "Thu Jul 15 2021 03:04:05 GMT+0000");
  assert.equal(r.timeString, "03:04:05 GMT+0000");
  assert.equal(r.dateString, "Fri Jan 01 2021");
  // Formatted by the host's Intl with the sandbox's fixed defaults (en-US, UTC), as Node prints it.
  assert.equal(r.locale, new Date(0).toLocaleString("en-US", { timeZone: "UTC" }));
  assert.deepEqual(r.offsets, [0, 0]);
  assert.equal(r.localCtor, true, "new Date(y, m, d, …) must read its fields as UTC");
  assert.equal(r.localParse, true, "a date-time string without an offset must parse as UTC");
  assert.equal(r.setHours, "1970-01-01T05:00:00.000Z");
  assert.deepEqual(r.mismatches, []);
}

test("the host really runs in America/New_York for this file", () => {
  assert.equal(new Date(0).getTimezoneOffset(), 300);
});

for (const engine of ["quickjs-ng", "quickjs"] as EngineVariantName[]) {
  test(`guest Date is UTC (${engine}, in-thread)`, async () => {
    using rx = new RExec({ engine });
    await check(rx);
  });
}

test("guest Date is UTC (worker mode)", async () => {
  const rx = new RExec({ worker: true });
  try {
    await check(rx);
  } finally {
    await (rx as unknown as { dispose(): unknown }).dispose();
  }
});
