// One peer, measured in this (fresh) process. Usage:
//   node peer.mjs <adapter> <variant|-> speed|memory|pool
// Prints one line "RESULT <json>" on stdout.
import { performance } from "node:perf_hooks";
import { BUDGET_MS, FIB, HOST_CALLS, HOST_LOOP, JSON_RT, ROWS_IN_RESULT, SETUP, SORT, WARM_EXPR, measure, measureSync, moduleFiles, rowsIn, stats } from "./lib.mjs";

const [adapterName, variantArg, mode = "speed"] = process.argv.slice(2);
const variant = variantArg === "-" ? undefined : variantArg;
const out = { adapter: adapterName, variant, mode };

function report() {
  process.stdout.write("RESULT " + JSON.stringify(out) + "\n");
}

async function attempt(key, fn) {
  try {
    out[key] = await fn();
  } catch (error) {
    out[key] = error?.name === "NotAvailable" ? { unavailable: error.message } : { error: String(error?.stack ?? error).split("\n").slice(0, 3).join(" | ") };
  }
}

try {
  const mod = await import(`./peers/${adapterName}.mjs`);
  if (mode === "pool") {
    for (const size of [1, 2]) await attempt(`pool${size}`, () => mod.poolThroughput(size, Math.max(1000, BUDGET_MS * 1.5)));
  } else {
    const tLoad = performance.now();
    const peer = await mod.create({ variant });
    out.loadMs = performance.now() - tLoad;
    out.versions = peer.versions;
    if (mode === "memory") await memory(peer);
    else if (mode === "copy") await copies(peer, peer.sync ? (op, o) => measureSync(op, o) : (op, o) => measure(op, o), await peer.open());
    else await speed(peer);
  }
} catch (error) {
  out.failed = String(error?.stack ?? error).split("\n").slice(0, 4).join(" | ");
}
report();
process.exit(0);

async function speed(peer) {
  const m = peer.sync ? (op, o) => measureSync(op, o) : (op, o) => measure(op, o);
  await attempt("cold", () => m(() => peer.cold(), { warmup: 3 }));
  const box = await peer.open();
  const copy = box.copy ?? ((v) => v);
  await box.exec(SETUP);
  out.bigJsonBytes = await box.eval("bigJsonLength");
  await attempt("warm", () => m(() => box.eval(WARM_EXPR), { scale: 1000, warmup: 20 }));
  if ((await box.eval(HOST_LOOP)) !== HOST_CALLS) throw new Error("host loop gave a wrong result");
  await attempt("hostCall", () =>
    m(peer.sync
      ? () => { const t0 = performance.now(); box.eval(HOST_LOOP); return ((performance.now() - t0) * 1e6) / HOST_CALLS; }
      : async () => { const t0 = performance.now(); await box.eval(HOST_LOOP); return ((performance.now() - t0) * 1e6) / HOST_CALLS; },
    { minRuns: 5, sample: true }));
  await attempt("guestCall", async () => {
    const g = await box.guestFn("g");
    if ((await g(1, 2)) !== 3) throw new Error("guest function gave a wrong result");
    return m(() => g(1, 2), { scale: 1000, warmup: 20 });
  });
  await copies(peer, m, box, true);
  await attempt("fib", () => m(() => box.eval(FIB), { minRuns: 5 }));
  await attempt("sort", () => m(() => box.eval(SORT), { minRuns: 5 }));
  await attempt("json", () => m(() => box.eval(JSON_RT), { minRuns: 5 }));
  await box.close();
  if (peer.importOnce) {
    const files = moduleFiles();
    await attempt("import", () => measure(() => peer.importOnce(files), { minRuns: 5, sample: true }));
  }
}

/** The 1 MB copies: a structured result out, and rows passed into a guest function (`node peer.mjs <peer> <variant> copy` runs only these). */
async function copies(peer, m, box, setUp = false) {
  const copy = box.copy ?? ((v) => v);
  if (!setUp) await box.exec(SETUP);
  await attempt("copy1mb", () => m(() => { const v = box.eval("big"); return peer.sync ? void copy(v) : v.then(copy).then(() => {}); }, { minRuns: 5 }));
  {
    const big = copy(await box.eval("big"));
    if (!Array.isArray(big) || big.length !== 10000 || big[9999].pos.z !== 19998) throw new Error("1 MB copy is wrong");
  }
  await attempt("copyIn1mb", async () => {
    if (typeof box.passIn !== "function") throw Object.assign(new Error("passing structured values in is not adapted for this peer"), { name: "NotAvailable" });
    const rows = rowsIn();
    if ((await box.passIn("takeRows", rows)) !== ROWS_IN_RESULT) throw new Error("1 MB copy in is wrong");
    return m(() => box.passIn("takeRows", rows), { minRuns: 5 });
  });
  if (!setUp) await box.close();
}

async function memory(peer) {
  const N = 100;
  const gc = globalThis.gc ?? (() => {});
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  // One sandbox first, so one-time costs (compiled module, lazy code) are not counted.
  (await peer.live())();
  await settle();
  const before = process.memoryUsage();
  const closers = [];
  for (let i = 0; i < N; i++) closers.push(await peer.live());
  await settle();
  const after = process.memoryUsage();
  out.memory = {
    sandboxes: N,
    rssPerSandboxMB: (after.rss - before.rss) / N / 2 ** 20,
    heapPerSandboxMB: (after.heapUsed - before.heapUsed) / N / 2 ** 20,
    externalPerSandboxMB: (after.external - before.external) / N / 2 ** 20,
    rssTotalMB: after.rss / 2 ** 20,
  };
  for (const close of closers) await close();
}
