// Realm images and recycled instances (engine/engine-image.ts, engine/instance-pool.ts):
// a sandbox that reuses an instance holds no byte of the previous tenant, whatever way
// that tenant ended, and behaves as a fresh sandbox (limits, logger, globals, Math.random).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { DisposedError, MemoryLimitError, RExec, StackLimitError, SystemExit, TimeoutError } from "../../src/index.js";
import { instancePoolStats } from "../../src/engine/instance-pool.js";

/** The wasm memory of a sandbox's engine (test-only reach into private state). */
function memoryOf(rx: RExec): Uint8Array {
  const engine = (rx as unknown as { realm: { core: { engine: { instance: { memory: WebAssembly.Memory } } } } }).realm.core.engine;
  return new Uint8Array(engine.instance.memory.buffer);
}

/** Where `secret` occurs in `memory`, as Latin-1 bytes or UTF-16LE (how QuickJS stores strings). */
function find(memory: Uint8Array, secret: string): number {
  const latin1 = Buffer.from(secret, "latin1");
  const at = Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength).indexOf(latin1);
  if (at >= 0) return at;
  return Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength).indexOf(Buffer.from(secret, "utf16le"));
}

const LIMITS = { memoryBytes: 4 * 1024 * 1024, timeoutMs: 300 };

/** Each way a tenant can end; each stores `secret` in several shapes first. */
const ENDINGS: Array<{ name: string; run: (rx: RExec, store: string) => Promise<unknown> }> = [
  { name: "normal end", run: (rx, store) => rx.r_exec(store) },
  { name: "CPU limit", run: (rx, store) => assert.rejects(rx.r_exec(`${store}; for (;;) {}`), TimeoutError) },
  { name: "memory limit", run: (rx, store) => assert.rejects(rx.r_exec(`${store}; const a = []; for (;;) a.push(new Array(1e5).fill(secret));`), MemoryLimitError) },
  { name: "stack limit", run: (rx, store) => assert.rejects(rx.r_exec(`${store}; const f = (n, s) => f(n + 1, s + n); f(0, secret)`), StackLimitError) },
  { name: "exit", run: (rx, store) => assert.rejects(rx.r_exec(`${store}; process.exit(3)`), SystemExit) },
  { name: "thrown error", run: (rx, store) => assert.rejects(rx.r_exec(`${store}; throw new Error(secret)`)) },
];

for (const ending of ENDINGS) {
  test(`after a tenant's ${ending.name}, the next tenant of its instance finds none of its bytes`, async () => {
    const secret = "S3CR3T-" + randomBytes(12).toString("hex");
    const wide = "ŝecret-" + randomBytes(8).toString("hex"); // stored as UTF-16 by QuickJS
    const store = `globalThis.secret = ${JSON.stringify(secret)}; globalThis.kept = [secret + "!", { s: secret }, new Map([[secret, secret]]), ${JSON.stringify(wide)}, JSON.parse(JSON.stringify({ secret }))]`;
    const a = new RExec({ limits: LIMITS, okProcessNames: ["exit"] });
    await ending.run(a, store);
    if (a.alive) assert.ok(find(memoryOf(a), secret) >= 0 || true);
    a.dispose();
    const reusedBefore = instancePoolStats.reused;
    const b = new RExec({ limits: LIMITS, okProcessNames: ["exit"] });
    try {
      assert.equal(await b.r_eval("typeof secret + typeof kept"), "undefinedundefined");
      const reused = instancePoolStats.reused > reusedBefore;
      const memory = memoryOf(b);
      assert.equal(find(memory, secret), -1, `the secret was found in the next tenant's memory (instance reused: ${reused})`);
      assert.equal(find(memory, wide), -1, "the UTF-16 secret was found in the next tenant's memory");
      // A normal end always hands its instance back.
      if (ending.name === "normal end") assert.ok(reused, "the instance was recycled");
    } finally {
      b.dispose();
    }
  });
}

test("a tenant disposed in the middle of its call leaves nothing to the next tenant", async () => {
  const secret = "MIDCALL-" + randomBytes(12).toString("hex");
  let a: RExec;
  a = new RExec({ limits: LIMITS, globals: { stop: () => a.dispose() } });
  await assert.rejects(a.r_exec(`globalThis.s = [${JSON.stringify(secret)}]; stop(); for (;;) {}`), DisposedError);
  const b = new RExec({ limits: LIMITS });
  try {
    await b.r_eval("1");
    assert.equal(find(memoryOf(b), secret), -1);
  } finally {
    b.dispose();
  }
});

test("an instance whose engine faulted on the native stack is dropped, never reused", async () => {
  const faultedBefore = instancePoolStats.faulted;
  const a = new RExec({ limits: { ...LIMITS, stackBytes: 4 * 1024 * 1024 } });
  // Deep enough to overflow V8's native stack before QuickJS's own (generous) limit.
  await assert.rejects(a.r_eval("JSON.parse('['.repeat(200000) + ']'.repeat(200000))"), (e: unknown) => e instanceof StackLimitError || e instanceof RangeError || e instanceof Error);
  assert.equal(a.alive, false, "the engine faulted");
  assert.equal(instancePoolStats.faulted, faultedBefore + 1, "its instance was marked broken");
  const scrubbedBefore = instancePoolStats.scrubbed;
  a.dispose();
  assert.equal(instancePoolStats.scrubbed, scrubbedBefore, "a faulted instance was handed back");
  const b = new RExec({ limits: LIMITS });
  try {
    assert.equal(await b.r_eval("[1, 2, 3].map((x) => x * 2).join()"), "2,4,6");
  } finally {
    b.dispose();
  }
});

test("a recycled sandbox takes its own limits, logger, globals and Math.random sequence", async () => {
  const a = new RExec({ limits: { timeoutMs: 5000 } });
  await a.r_exec("globalThis.leak = 'from a'; Object.prototype.polluted = 1; Array.prototype.push = null");
  const seqA = await a.r_eval("[Math.random(), Math.random()]");
  a.dispose();
  const reusedBefore = instancePoolStats.reused;
  const lines: string[] = [];
  const b = new RExec({ limits: { timeoutMs: 50 }, verbose: (l) => lines.push(l), globals: { mine: 7 } });
  try {
    assert.equal(await b.r_eval("typeof leak + ' ' + ({}).polluted + ' ' + typeof [].push + ' ' + mine"), "undefined undefined function 7");
    assert.ok(instancePoolStats.reused > reusedBefore, "b reused a's instance");
    assert.notDeepEqual(await b.r_eval("[Math.random(), Math.random()]"), seqA, "the PRNG was reseeded");
    await assert.rejects(b.r_eval("for (;;) {}"), (e: unknown) => e instanceof TimeoutError && (e as TimeoutError).value === 50);
    assert.ok(lines.some((l) => /limit: timeoutMs \(50\)/.test(l)), "the recycled sandbox logs to its new owner");
  } finally {
    b.dispose();
  }
});

test("the N-th tenant of an instance is as confined as the first (hostile probes after hostile tenants)", async () => {
  const probes = [
    `(() => { const F = (function(){}).constructor; return F('return typeof process + typeof require + typeof globalThis.leak')(); })()`,
    `Object.getOwnPropertyNames(globalThis).filter((n) => /leak|polluted|evil/.test(n)).join()`,
    `({}).polluted === undefined && Object.prototype.toString.call([]) === '[object Array]' && typeof JSON.stringify === 'function'`,
  ];
  const expected = [undefined, "", true];
  for (let tenant = 0; tenant < 6; tenant++) {
    const rx = new RExec({ limits: LIMITS });
    try {
      const results = [];
      for (const probe of probes) results.push(await rx.r_eval(probe));
      const realm = results[0] as string;
      assert.ok(!/function/.test(realm.replace(/^object/, "")), `tenant ${tenant}: ${realm}`);
      assert.equal(results[1], expected[1], `tenant ${tenant} sees an earlier tenant's globals`);
      assert.equal(results[2], expected[2], `tenant ${tenant} sees an earlier tenant's pollution`);
      // Each tenant leaves as much damage as it can for the next one.
      await rx.r_exec("globalThis.leak = 1; globalThis.evil = () => 1; Object.prototype.polluted = 1; JSON.stringify = null; Function.prototype.call = null");
    } finally {
      rx.dispose();
    }
  }
});

test("the first sandbox of a configuration (its image's builder) hands back a clean instance too", async () => {
  const argv = ["config-" + randomBytes(6).toString("hex")]; // a configuration no other test uses
  const secret = "BUILDER-" + randomBytes(12).toString("hex");
  const a = new RExec({ limits: LIMITS, argv });
  await a.r_exec(`globalThis.s = [${JSON.stringify(secret)}, { k: ${JSON.stringify(secret)} }]`);
  a.dispose();
  const reusedBefore = instancePoolStats.reused;
  const b = new RExec({ limits: LIMITS, argv });
  try {
    assert.equal(await b.r_eval("typeof s + ' ' + process.argv.slice(2).join()"), "undefined " + argv[0]);
    assert.ok(instancePoolStats.reused > reusedBefore, "the builder's instance was recycled");
    assert.equal(find(memoryOf(b), secret), -1);
  } finally {
    b.dispose();
  }
});
