/**
 * The host never dies, never hangs — tested by mechanism.
 *
 * Every value rexec hands out (results, thrown values, rejections,
 * host-function arguments, callback results, module namespaces, guest
 * functions, pool results) is consumed by a careless host (careless-host/
 * child.ts) the way host code does: JSON.stringify, String, templates, `+`,
 * comparison, join, util.inspect, console.log, await, spread,
 * structuredClone. The host runs in a child process with Node's default
 * unhandled-rejection behaviour, so one rejection rexec lets escape, one
 * guest function a host built-in calls implicitly, or one tree walk that
 * explodes ends (or stalls) the child, and the test fails naming the case.
 *
 * The values come from a fixed corpus (the shapes seen in the wild) plus
 * fast-check: functions under every implicit-call name with throwing,
 * looping, exiting, never-settling and symbol-returning bodies, shared DAGs,
 * deep nesting and huge key counts. Each runs in-thread, in worker mode and
 * in the pool.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import fc from "fast-check";
import { IMPLICIT_CALL_NAMES } from "../../src/boundary/implicit-calls.js";

const CHILD = fileURLToPath(new URL("./careless-host/child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The rule's own list: a name added there is fuzzed here too. */
const IMPLICIT = [...IMPLICIT_CALL_NAMES];

/** Bodies a guest function can have: every way a call can fail or never end. */
const BODIES = [
  "throw new Error('boom')",
  "throw { toJSON() { throw new Error('inner') } }",
  "throw 1",
  "for (;;) {}",
  "exit(3)",
  "return new Promise(() => {})",
  "return Symbol('s')",
  "return 1",
  "arguments[0] && arguments[0](1)",
  "return { then(r) { r(this) } }",
  "while (true) Promise.resolve()",
];

/** The shapes seen in the wild (issue 10), always run. */
const CORPUS: string[] = [
  "{ toJSON() { throw new Error('x') } }",
  "{ valueOf() { throw new Error('boom') } }",
  "{ then() { throw 1 } }",
  "{ then(resolve) { } }",
  "{ toJSON() { return 1 } }",
  "{ toString() { return Symbol() } }",
  "{ [Symbol.toPrimitive]() { throw 1 } }",
  "(() => { var x = [1]; for (var i = 0; i < 40; i++) x = [x, x]; return x })()",
  "(() => { var a = [1]; for (var i = 0; i < 7; i++) { var b = []; for (var j = 0; j < 100; j++) b.push(a); a = b } return a })()",
  "(() => { var o = { toJSON() { for (;;) {} } }; o.self = o; return o })()",
  "(() => { var o = {}; for (var i = 0; i < 400000; i++) o['k' + i] = i; return o })()",
  "(() => { let a = [0]; for (let i = 0; i < 50000; i++) a = [a]; return a })()",
  "{ name: 'x', message: { toString() { throw 1 } }, stack: 'at ' + ' ('.repeat(32000) }",
  "(() => { const e = new Error('x'); e.stack = 'at ' + ' ('.repeat(32000); e.then = () => {}; e.toJSON = () => { throw 1 }; return e })()",
  "{ get x() { for (;;) {} } }",
  "new Proxy({}, { get() { throw 1 } })",
  "function () { throw 1 }",
  "async function () { await new Promise(() => {}) }",
  "{ a: { toLocaleString() { exit(1) } }, b: [ { join() { throw 1 } } ] }",
];

const key = fc.oneof(fc.constantFrom(...IMPLICIT), fc.constantFrom("a", "b", "__proto__", "name", "message", "stack"));
const body = fc.constantFrom(...BODIES);
const fnValue = body.map((b) => `function () { ${b} }`);

/** Hostile guest values, as source text. */
const hostileValue: fc.Arbitrary<string> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("1", "'s'", "null", "undefined", "10n ** 400n", "-0", "NaN", "new Date(0)", "/a+/g", "new Map([[1, 2]])"),
    fnValue,
    tie("object"),
    tie("array"),
    fc.record({ depth: fc.integer({ min: 10, max: 45 }), leaf: tie("value") }).map(({ depth, leaf }) => `(() => { let x = ${leaf as string}; for (let i = 0; i < ${depth}; i++) x = [x, x]; return x })()`),
    fc.record({ depth: fc.integer({ min: 1000, max: 60000 }) }).map(({ depth }) => `(() => { let x = {}; for (let i = 0; i < ${depth}; i++) x = { x }; return x })()`),
    fc.record({ count: fc.integer({ min: 1000, max: 300000 }), k: key, b: body }).map(({ count, k, b }) => `(() => { const o = { ${JSON.stringify(k)}: function () { ${b} } }; for (let i = 0; i < ${count}; i++) o['k' + i] = i; return o })()`),
  ),
  object: fc.array(fc.tuple(key, tie("value")), { maxLength: 4 }).map((entries) => `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${v as string}`).join(", ")} }`),
  array: fc.array(tie("value"), { maxLength: 3 }).map((items) => `[${items.join(", ")}]`),
})).value as fc.Arbitrary<string>;

function runChild(mode: string, values: string[]): { status: number | null; stdout: string; stderr: string; ms: number } {
  const dir = mkdtempSync(join(tmpdir(), "rexec-careless-"));
  const file = join(dir, "cases.json");
  writeFileSync(file, JSON.stringify(values.map((value) => ({ value }))));
  const t0 = performance.now();
  const child = spawnSync(process.execPath, ["--import", "tsx", CHILD, file, mode], { cwd: ROOT, encoding: "utf8", timeout: 240_000, maxBuffer: 64 << 20 });
  return { status: child.status, stdout: child.stdout ?? "", stderr: child.stderr ?? "", ms: performance.now() - t0 };
}

function assertSurvived(mode: string, values: string[]): void {
  const out = runChild(mode, values);
  const cases = out.stdout.match(/CASE (\d+)/g) ?? [];
  const last = cases.length > 0 ? Number(cases[cases.length - 1]!.slice(5)) : -1;
  assert.ok(
    out.status === 0 && out.stdout.includes(`SURVIVED ${values.length}`),
    `the careless host (${mode}) died or hung at case ${last}: ${values[last] ?? "(start-up)"}\n` +
      `exit ${out.status} after ${out.ms.toFixed(0)} ms\n${out.stderr.slice(-3000)}`,
  );
}

const SEED = Number(process.env.REXEC_FUZZ_SEED ?? 20261201);
const generated = fc.sample(hostileValue, { seed: SEED, numRuns: Number(process.env.REXEC_CARELESS_RUNS ?? 12) });

for (const mode of ["thread", "worker", "pool"]) {
  test(`careless host survives the corpus (${mode})`, { timeout: 300_000 }, () => {
    assertSurvived(mode, CORPUS);
  });
  test(`careless host survives fast-check hostile values (${mode}, seed ${SEED})`, { timeout: 300_000 }, () => {
    assertSurvived(mode, generated);
  });
}
