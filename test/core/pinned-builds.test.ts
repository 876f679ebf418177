// The engine builds rexec pins by SHA-256 (src/engine/engine-image.ts) have
// the layout rexec relies on without observing it in each process: the
// interrupt counter the pacer writes (src/engine/interrupt-pacer.ts). Every
// process trusts these facts for a pinned binary, so this test observes them
// for real, for both builds, with nothing trusted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createQuickJSEngine } from "../../src/engine/engine-factory.js";
import { pinnedFacts } from "../../src/engine/engine-image.js";
import type { EngineVariantName } from "../../src/engine/wasm-variant.js";

for (const variant of ["quickjs-ng", "quickjs"] as EngineVariantName[]) {
  test(`${variant}: the shipped binary is a pinned build, and its interrupt-counter layout holds when observed`, async () => {
    const engine = await createQuickJSEngine({ variant, memoryBytes: 16 << 20, stackBytes: 256 << 10, shouldInterrupt: () => false, warmUp: false });
    try {
      assert.ok(pinnedFacts(variant), `${variant}: the installed wasm is not a pinned build; observe its facts and pin its SHA-256 in engine-image.ts`);
      assert.equal(engine.observePacingLayout(), true);
      // And the engine still runs normally afterwards.
      assert.equal(engine.getNumber(engine.evalScript("6 * 7", "<t>")), 42);
    } finally {
      engine.dispose();
    }
  });
}
