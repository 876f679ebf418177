/**
 * A guest value never costs the host more than `resultBytes` — to hold or to walk.
 *
 * Class: values that are small on the wire and big on the host.
 * - shared references: a DAG of 41 guest nodes is 2^40 nodes to every tree
 *   walk (JSON.stringify, util.inspect, the CLI printer);
 * - heap blow-up: an object with 400k keys is ~7 MB of wire text and ~35 MB of
 *   V8 heap.
 * Every way out is covered: results, thrown values, host-function arguments,
 * module namespaces. Cycles keep working.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { inspect } from "node:util";
import { CloneError, GuestError, MemoryHooks, MemoryLimitError, RExec } from "../../src/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DAG = (depth: number) => `(() => { var x = [1]; for (var i = 0; i < ${depth}; i++) x = [x, x]; return x })()`;
const WIDE_DAG = "(() => { var a = [1]; for (var i = 0; i < 7; i++) { var b = []; for (var j = 0; j < 100; j++) b.push(a); a = b } return a })()";
const MANY_KEYS = "(() => { var o = {}; for (var i = 0; i < 400000; i++) o['k' + i] = i; return o })()";

test("a shared-reference DAG is refused as a result, whatever its node count on the wire", async () => {
  using rx = new RExec({ limits: { timeoutMs: 5000 } });
  for (const code of [DAG(40), DAG(24), WIDE_DAG]) {
    const t0 = performance.now();
    const error = await rx.r_eval(code).catch((e: unknown) => e);
    assert.ok(error instanceof MemoryLimitError, `expected MemoryLimitError for ${code}, got ${inspect(error)}`);
    assert.equal(error.limit, "resultBytes");
    assert.match(error.message, /walked as a tree/);
    assert.ok(performance.now() - t0 < 2000, `refusing took ${(performance.now() - t0).toFixed(0)} ms`);
  }
  // Small DAGs still cross, and sharing is kept.
  const small = (await rx.r_eval(DAG(8))) as unknown[];
  assert.equal(small[0], small[1]);
  assert.ok(JSON.stringify(small).length < 100_000);
});

test("a DAG walked by the host after a successful copy costs at most about resultBytes", async () => {
  const resultBytes = 256 * 1024;
  using rx = new RExec({ limits: { resultBytes } });
  // The deepest DAG that is accepted: its full JSON text stays within a small multiple of the limit.
  let accepted = 0;
  for (let depth = 1; depth <= 30; depth++) {
    const value = await rx.r_eval(DAG(depth)).catch((e: unknown) => e);
    if (value instanceof MemoryLimitError) break;
    accepted = depth;
    assert.ok(JSON.stringify(value).length <= resultBytes, `depth ${depth}: the walk wrote ${JSON.stringify(value).length} bytes`);
  }
  assert.ok(accepted >= 10 && accepted < 30, `accepted depth ${accepted}`);
});

test("cycles keep working: walkers that stop at cycles pay one slot per back edge", async () => {
  using rx = new RExec();
  const v = (await rx.r_eval("(() => { const o = { name: 'o', list: [] }; o.self = o; o.list.push(o, o); return o })()")) as Record<string, unknown>;
  assert.equal(v.self, v);
  assert.equal((v.list as unknown[])[0], v);
  assert.match(inspect(v), /Circular/);
});

test("a DAG as a thrown value, a rejection, a host-function argument and a module export is refused the same way", async () => {
  const received: unknown[] = [];
  using rx = new RExec({
    limits: { timeoutMs: 5000 },
    hooks: new MemoryHooks({ files: { "/dag.js": `export const dag = ${DAG(40)};` } }),
    globals: { log: (x: unknown) => void received.push(x) },
  });
  const thrown = await rx.r_eval(`throw ${DAG(40)}`).catch((e: unknown) => e);
  assert.ok(thrown instanceof GuestError, inspect(thrown));
  assert.equal((thrown as GuestError).thrown, undefined);
  assert.match((thrown as GuestError).message, /cannot be copied|larger than limits.resultBytes/);
  const rejected = await rx.r_eval(`Promise.reject(${DAG(40)})`).catch((e: unknown) => e);
  assert.ok(rejected instanceof GuestError || rejected instanceof MemoryLimitError, inspect(rejected));
  const argument = await rx.r_eval(`try { log(${DAG(40)}); 'passed' } catch (e) { e.name + ': ' + e.message }`);
  assert.match(String(argument), /^RangeError: arguments are too large for the host/);
  assert.equal(received.length, 0);
  const ns = await rx.r_import("./dag.js").catch((e: unknown) => e);
  assert.ok(ns instanceof MemoryLimitError, inspect(ns));
});

test("an object with 400k keys inside the wire limit is refused as host memory", async () => {
  using rx = new RExec({ limits: { timeoutMs: 10_000, memoryBytes: 256 << 20 } });
  const error = await rx.r_eval(MANY_KEYS).catch((e: unknown) => e);
  assert.ok(error instanceof MemoryLimitError, inspect(error));
  assert.match(error.message, /as host memory/);
});

test("the host heap a decoded value takes stays within 1.6 × resultBytes (measured, child process)", () => {
  // Each shape is sized so it is accepted just under the limit; the child measures the heap after a GC.
  const script = `
    import { RExec } from "./src/index.ts";
    const resultBytes = 1 << 20;
    const shapes = {
      keys: (n) => \`(() => { const o = {}; for (let i = 0; i < \${n}; i++) o['k' + i] = i; return o })()\`,
      uniqueKeyObjects: (n) => \`Array.from({ length: \${n} }, (_, i) => ({ ['a' + i]: 1, ['b' + i]: 2, ['c' + i]: 3 }))\`,
      nestedObjects: (n) => \`(() => { let o = {}; for (let i = 0; i < \${n}; i++) o = { o }; return o })()\`,
      nestedArrays: (n) => \`(() => { let a = [0]; for (let i = 0; i < \${n}; i++) a = [a]; return a })()\`,
      doubles: (n) => \`Array.from({ length: \${n} }, (_, i) => i + 0.5)\`,
      strings: (n) => \`Array.from({ length: \${n} }, (_, i) => 's' + i + 'é'.repeat(8))\`,
      records: (n) => \`Array.from({ length: \${n} }, (_, i) => ({ id: i, name: 'user' + i, tags: ['a', 'b'], score: i * 1.5 }))\`,
    };
    const rx = new RExec({ limits: { resultBytes, memoryBytes: 512 << 20, timeoutMs: 60000 } });
    const keep = [];
    const report = {};
    // A crowded transition tree first (a guest can arrange one): later objects then become dictionaries.
    keep.push(await rx.r_eval(shapes.uniqueKeyObjects(2000)));
    for (const [name, make] of Object.entries(shapes)) {
      // The largest accepted size (doubling, then bisection), measured.
      const ok = (n) => rx.r_eval(make(n)).then(() => true, () => false);
      let best = 0, n = 500;
      while (await ok(n)) { best = n; n *= 2; }
      let high = n;
      for (let step = 0; step < 5; step++) { const mid = Math.floor((best + high) / 2); if (await ok(mid)) best = mid; else high = mid; }
      // Measured three times, the least kept: the value's own heap is the same each time, while
      // unrelated growth between the two readings (a CI run once read 1.64 where 0.8-1.0 is usual)
      // only adds; an amplification shows in every trial.
      let least = Infinity;
      for (let trial = 0; trial < 3; trial++) {
        await rx.r_eval("0"); // the realm's call queue holds the previous call's promise (and its value)
        gc(); gc();
        const before = process.memoryUsage().heapUsed;
        keep.push(await rx.r_eval(make(best)));
        gc(); gc();
        least = Math.min(least, (process.memoryUsage().heapUsed - before) / resultBytes);
      }
      report[name] = { n: best, ratio: least };
    }
    console.log(JSON.stringify(report));
    rx.dispose();
  `;
  const child = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 180_000 });
  assert.equal(child.status, 0, child.stderr);
  const report = JSON.parse(child.stdout.trim().split("\n").pop()!) as Record<string, { n: number; ratio: number }>;
  for (const [name, { n, ratio }] of Object.entries(report)) {
    assert.ok(n > 0, `${name}: nothing was accepted`);
    assert.ok(ratio <= 1.6, `${name}: ${n} items took ${ratio.toFixed(2)} × resultBytes of host heap`);
  }
});

test("values whose text conversion or compilation is super-linear are bounded: BigInt bits, RegExp source", async () => {
  using rx = new RExec({ limits: { timeoutMs: 5000 } });
  // 2^18 bits cross; String() of it is cheap.
  const ok = (await rx.r_eval("(1n << 262143n) + 1n")) as bigint;
  const t0 = performance.now();
  assert.equal(String(ok).length, 78913);
  assert.ok(performance.now() - t0 < 1000);
  for (const code of ["1n << 1000000n", "-(1n << 300000n)", "({ n: 1n << 1000000n })", "throw [1n << 1000000n]"]) {
    const error = await rx.r_eval(code).catch((e: unknown) => e);
    assert.ok(error instanceof CloneError || (error instanceof GuestError && /BigInt of more than/.test(error.message)), `${code}: ${inspect(error)}`);
  }
  const longPattern = await rx.r_eval("new RegExp('a'.repeat(70000))").catch((e: unknown) => e);
  assert.ok(longPattern instanceof CloneError, inspect(longPattern));
  assert.deepEqual(await rx.r_eval("/a+b/gi"), /a+b/gi);
});
