// Where rexec's time goes: cold start split into its phases, and the cost of
// each safety setting on the raw engine. Runs in its own process; prints
// "RESULT <json>". Uses rexec's internal modules from dist/ (read-only).
import { readFileSync } from "node:fs";
import { newQuickJSWASMModuleFromVariant, newVariant } from "quickjs-emscripten-core";
import { BUDGET_MS, FIB, SETUP, SORT, JSON_RT, measureSync, measure } from "./lib.mjs";

const dist = new URL("../dist/", import.meta.url);
const { baseVariant, compiledModule, BASELINE_PAGES } = await import(new URL("engine/wasm-variant.js", dist));
const { createQuickJSEngine } = await import(new URL("engine/engine-factory.js", dist));
const { GuestRealm } = await import(new URL("boundary/realm.js", dist));
const { DEFAULT_LIMITS } = await import(new URL("host/limits.js", dist));
const PRELUDE = readFileSync(new URL("host/guest/prelude.js", dist), "utf8");
const KERNEL = readFileSync(new URL("boundary/guest/kernel.js", dist), "utf8");

const variantName = process.argv[2] ?? "quickjs-ng";
const out = { variant: variantName, phases: {}, engineSettings: {} };
const budget = { budgetMs: BUDGET_MS / 2, minRuns: 5, warmup: 3 };
const limits = { ...DEFAULT_LIMITS, resultBytes: DEFAULT_LIMITS.resultBytes };
const pages = BASELINE_PAGES + Math.ceil(limits.memoryBytes / 65536);

const shared = await newQuickJSWASMModuleFromVariant(baseVariant(variantName));
const ownInstance = () =>
  newQuickJSWASMModuleFromVariant(newVariant(baseVariant(variantName), {
    wasmModule: compiledModule(variantName),
    wasmMemory: new WebAssembly.Memory({ initial: BASELINE_PAGES, maximum: pages }),
  }));
await ownInstance();

// --- Cold start phases -------------------------------------------------------
out.phases.sharedModuleContext = measureSync(() => { const rt = shared.newRuntime(); const c = rt.newContext(); c.dispose(); rt.dispose(); }, budget);
out.phases.wasmInstantiate = await measure(() => ownInstance(), budget);
out.phases.engineCreate = await measure(async () => { const e = await createQuickJSEngine({ memoryBytes: limits.memoryBytes, stackBytes: limits.stackBytes, shouldInterrupt: () => false, variant: variantName }); e.dispose(); }, budget);
{
  const rt = shared.newRuntime();
  out.phases.kernelEval = measureSync(() => { const c = rt.newContext(); const h = c.unwrapResult(c.evalCode(KERNEL, "<kernel>")); h.dispose(); c.dispose(); }, budget);
  out.phases.preludeEval = measureSync(() => { const c = rt.newContext(); const h = c.unwrapResult(c.evalCode(PRELUDE, "<prelude>")); h.dispose(); c.dispose(); }, budget);
  rt.dispose();
}
out.phases.realmCreate = await measure(async () => { const r = await GuestRealm.create({ limits, log: () => {}, variant: variantName }); r.dispose(); }, budget);
{
  const samples = { prelude: [], firstEval: [], dispose: [] };
  const t = performance.now();
  while (samples.prelude.length < 5 || performance.now() - t < BUDGET_MS / 2) {
    const r = await GuestRealm.create({ limits, log: () => {}, variant: variantName });
    const t0 = performance.now();
    await r.installPrelude(PRELUDE, "<prelude>", { natives: { write() {}, exit() {} }, config: { argv: [], env: {}, cwd: "/", platform: "rexec", version: "v0", processNames: [], nokBuiltinNames: [] } });
    const t1 = performance.now();
    await r.run((e) => e.evalScript("1+1", "<eval>"), () => {}, true);
    const t2 = performance.now();
    r.dispose();
    const t3 = performance.now();
    samples.prelude.push(t1 - t0); samples.firstEval.push(t2 - t1); samples.dispose.push(t3 - t2);
    if (samples.prelude.length > 2000) break;
  }
  const { stats } = await import("./lib.mjs");
  for (const [k, v] of Object.entries(samples)) out.phases[k] = stats(v);
}

// --- What each safety setting costs the engine (compute, raw API) ------------
async function computeWith(label, make) {
  const { ctx, close } = await make();
  const ev = (code) => { const h = ctx.unwrapResult(ctx.evalCode(code)); const v = ctx.dump(h); h.dispose(); return v; };
  ev(SETUP);
  const res = {};
  for (const [k, code] of [["fib", FIB], ["sort", SORT], ["json", JSON_RT]]) res[k] = measureSync(() => ev(code), { budgetMs: BUDGET_MS / 3, minRuns: 3, warmup: 1 });
  close();
  out.engineSettings[label] = res;
}
const plain = (mod, configure = () => {}) => async () => {
  const m = await mod();
  const rt = m.newRuntime();
  configure(rt);
  const ctx = rt.newContext();
  return { ctx, close: () => { ctx.dispose(); rt.dispose(); } };
};
await computeWith("shared module, no limits", plain(async () => shared));
await computeWith("own instance + memory cap", plain(ownInstance));
await computeWith("+ interrupt handler", plain(ownInstance, (rt) => rt.setInterruptHandler(() => performance.now() < 0)));
await computeWith("+ setMemoryLimit", plain(ownInstance, (rt) => { rt.setInterruptHandler(() => performance.now() < 0); rt.setMemoryLimit(limits.memoryBytes); }));
await computeWith("+ setMaxStackSize (all of rexec's)", plain(ownInstance, (rt) => { rt.setInterruptHandler(() => performance.now() < 0); rt.setMemoryLimit(limits.memoryBytes); rt.setMaxStackSize(limits.stackBytes); }));

process.stdout.write("RESULT " + JSON.stringify(out) + "\n");
