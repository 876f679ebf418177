// Out of memory inside a native that fails without setting an exception (the
// guest then "throws" undefined) is still the memory cap: MemoryLimitError.
// Seen as `GuestError: guest threw a non-Error value: undefined` before.
import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { GuestError, MemoryLimitError, RExec } from "../../src/index.js";

for (const worker of [false, true]) {
  test(`OOM inside String.prototype.normalize is a MemoryLimitError (${worker ? "worker" : "in-thread"})`, async () => {
    using rx = new RExec({ worker, limits: { memoryBytes: 32 << 20, timeoutMs: 5000 } });
    for (const code of [`"é".repeat(3e6).normalize("NFD").length`, `"é".repeat(1e7).normalize("NFD")`]) {
      const error = await rx.r_eval(code).catch((e: unknown) => e);
      assert.ok(error instanceof MemoryLimitError, `${code}: ${inspect(error)}`);
    }
  });
}

test("a guest that throws undefined on purpose gets a GuestError, not a memory error", async () => {
  using rx = new RExec({ limits: { memoryBytes: 32 << 20 } });
  const error = await rx.r_eval("throw undefined").catch((e: unknown) => e);
  assert.ok(error instanceof GuestError, inspect(error));
  assert.match((error as GuestError).message, /non-Error value: undefined/);
});
