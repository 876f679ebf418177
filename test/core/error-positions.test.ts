/**
 * Error positions and messages of QuickJS-ng, improved host-side from the
 * source (src/host/error-enrich.ts). Each case runs real guest code in
 * QuickJS-ng, checks what the engine itself reports (so a future build that
 * fixes it shows up here), then checks the enriched report against the
 * position classic QuickJS gives (or the callee's name for calls).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RExec } from "../../src/index.js";
import { parseGuestStack } from "../../src/boundary/guest-stack.js";
import { enrichEngineError, WINDOW_AFTER } from "../../src/host/error-enrich.js";

/**
 * QuickJS-ng's own report, read inside the guest (RExec improves the reports a
 * host sees): the code runs by indirect eval, so its positions are its own.
 */
async function engineReport(code: string): Promise<{ message: string; line: number; column: number }> {
  using rx = new RExec({ engine: "quickjs-ng" });
  const out = await rx.r_eval(`try { (0, eval)(${JSON.stringify(code)}); null } catch (e) { [e.name, e.message, e.stack] }`);
  assert.ok(Array.isArray(out), "the code did not throw");
  const [name, message, stack] = out as [string, string, string];
  assert.equal(name, "TypeError");
  const top = parseGuestStack(stack)[0]!;
  assert.equal(top.fileName, "<input>", stack);
  return { message, line: top.line, column: top.column };
}

interface Case {
  readonly code: string;
  /** What QuickJS-ng reports by itself: [message, line, column]. */
  readonly engine: readonly [string, number, number];
  /** The enriched report. */
  readonly enriched: readonly [string, number, number];
}

const CASES: readonly Case[] = [
  {
    code: "const d = {}\nconst r =\n  d.items.map(x => x)",
    engine: ["cannot read property 'map' of undefined", 1, 1],
    enriched: ["cannot read property 'map' of undefined (reading d.items.map)", 3, 10],
  },
  {
    code: "const d = {};\nconst r =\n  d.items\n    .map(x => x)",
    engine: ["cannot read property 'map' of undefined", 1, 1],
    enriched: ["cannot read property 'map' of undefined (reading d.items.map)", 4, 5],
  },
  {
    code: "const d = { a: {} };\nfunction f(a) {\n  const z = 1;\n  return a.b.c\n}\nf(d)",
    engine: ["cannot read property 'c' of undefined", 2, 1],
    enriched: ["cannot read property 'c' of undefined (reading a.b.c)", 4, 13],
  },
  {
    code: "const d = {};\nd.x[\"y z\"] = 1",
    engine: ["cannot set property 'y z' of undefined", 2, 1],
    enriched: ["cannot set property 'y z' of undefined (reading d.x[…])", 2, 4],
  },
  {
    code: "const d = {};\nd.foo(1, 2)",
    engine: ["not a function", 2, 3],
    enriched: ["d.foo is not a function", 2, 3],
  },
  {
    code: "const d = { items: [] };\nconst z =\n  d.items.mapp(x => x)",
    engine: ["not a function", 3, 16],
    enriched: ["d.items.mapp is not a function", 3, 11],
  },
  {
    code: "const d = {};\nd.foo(\n  1)",
    engine: ["not a function", 3, 3],
    enriched: ["d.foo is not a function", 2, 3],
  },
  {
    code: "const d = { items: [] };\nconst z = d.items.filter(x => x).mapp(1, 2)",
    engine: ["not a function", 2, 34],
    enriched: ["d.items.filter(x => x).mapp is not a function", 2, 34],
  },
  {
    code: "const x = 1;\nx()",
    engine: ["not a function", 2, 1],
    enriched: ["x is not a function", 2, 1],
  },
  {
    code: "const o = {};\nnew o.K()",
    engine: ["not a function", 2, 5],
    enriched: ["o.K is not a constructor", 2, 7],
  },
  {
    // Nested calls: the engine's position fits both; both are named.
    code: "const foo = 1, bar = (x) => x;\nfoo(bar(1))",
    engine: ["not a function", 2, 5],
    enriched: ["foo or bar is not a function", 2, 5],
  },
];

for (const c of CASES) {
  test(`enriched: ${JSON.stringify(c.code)}`, async () => {
    const site = await engineReport(c.code);
    assert.deepEqual([site.message, site.line, site.column], c.engine, "QuickJS-ng's own report changed: review error-enrich.ts");
    const out = enrichEngineError(site, c.code);
    assert.ok(out, "nothing enriched");
    assert.deepEqual([out.message, out.line, out.column], c.enriched);
  });
}

test("other messages and positions outside the source are left alone", () => {
  assert.equal(enrichEngineError({ message: "x is not defined", line: 1, column: 1 }, "x"), undefined);
  assert.equal(enrichEngineError({ message: "not a function", line: 9, column: 1 }, "a()"), undefined);
  assert.equal(enrichEngineError({ message: "not a function", line: 1, column: 99 }, "a()"), undefined);
  assert.equal(enrichEngineError({ message: "cannot read property 'q' of undefined", line: 1, column: 1 }, "a.b.c"), undefined);
  assert.equal(enrichEngineError({ message: "cannot read property 'q' of 7", line: 1, column: 1 }, "a.q"), undefined);
  // An access in a later function, after the reported block closed, is not taken.
  assert.equal(enrichEngineError({ message: "cannot read property 'q' of undefined", line: 1, column: 16 }, "function f() { g() }\nfunction h() { a.q }"), undefined);
});

test("callee names are capped; strings and comments are not read as code", () => {
  const long = "a" + ".b".repeat(200);
  const out = enrichEngineError({ message: "not a function", line: 1, column: 1 }, `${long}()`);
  assert.ok(out && out.message.length < 80 && out.message.endsWith("… is not a function"), out?.message);
  const src = "const s = 'x.map(';\n/* y.map */ z.map(f)";
  const acc = enrichEngineError({ message: "cannot read property 'map' of undefined", line: 1, column: 1 }, src);
  assert.deepEqual(acc && [acc.line, acc.column], [2, 14]);
});

test("hostile source: linear and bounded (a huge unbalanced source, a deep nest)", () => {
  const hostile = [
    "(".repeat(200_000) + "a.b()",
    "a(".repeat(100_000),
    "'".repeat(100_000) + "`".repeat(100_000) + "/*".repeat(100_000),
    "x".repeat(1_000_000) + ".map",
    ".q".repeat(500_000),
  ];
  for (const src of hostile) {
    const t = Date.now();
    enrichEngineError({ message: "not a function", line: 1, column: 1 }, src);
    enrichEngineError({ message: "cannot read property 'q' of undefined", line: 1, column: 1 }, src);
    // A hang guard, not a timing target: a backtracking or quadratic scan of 1 MB takes minutes.
    assert.ok(Date.now() - t < 5000);
  }
  assert.ok(WINDOW_AFTER < 1_000_000);
});
