/**
 * Where worker threads come from: which script to start, with which flags and
 * resource limits.
 *
 * The worker needs runnable JavaScript. From the built package (`dist/`) the
 * script is the compiled `.js` next to this module. When rexec runs from its
 * TypeScript sources (its own tests, under `node --import tsx`), the script is
 * the `.ts` file and the worker loads tsx itself, so tests exercise the current
 * sources rather than a possibly stale build. Loading ~100 modules through
 * tsx's hooks costs each thread ~0.5 s, so the test runner, after checking
 * that `dist/` was built from the current sources, sets
 * `REXEC_WORKERS_FROM_DIST=1` and threads start from the build instead.
 *
 * @packageDocumentation
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ResourceLimits } from "node:worker_threads";
import type { Limits } from "../host/limits.js";
import { adoptWarmUpFlag, warmUpFlag } from "../engine/warm-up.js";
import { adoptCompiledModule, compiledModule, engineBinaryFacts, ENGINE_VARIANT, type EngineBinaryFacts, type EngineVariantName } from "../engine/wasm-variant.js";

const RUNNING_FROM_SOURCES = import.meta.url.endsWith(".ts");
const DIST_WORKERS = RUNNING_FROM_SOURCES && process.env["REXEC_WORKERS_FROM_DIST"] === "1" && existsSync(new URL("../../dist/worker/spawn.js", import.meta.url));
const FROM_SOURCES = RUNNING_FROM_SOURCES && !DIST_WORKERS;
const BASE = DIST_WORKERS ? new URL("../../dist/worker/", import.meta.url) : new URL("./", import.meta.url);

/**
 * The module a worker starts with, for a worker module beside this file
 * (`relative` without extension). From `dist/` it is the compiled `.js`. From
 * sources it is a tiny bootstrap module (a `data:` URL) that registers tsx's
 * loader in the worker and then imports the `.ts` file: Node 20 does not apply
 * `--import` loaders to a worker's own entry module, but `register()` from
 * inside the worker works.
 */
export function workerScript(relative: string): URL {
  const target = new URL(`${relative}.${FROM_SOURCES ? "ts" : "js"}`, BASE);
  if (!FROM_SOURCES) return target;
  const api = import.meta.resolve("tsx/esm/api");
  const source = [
    `const { register } = await import(${JSON.stringify(api)});`,
    "register();",
    `const entry = await import(${JSON.stringify(target.href)});`,
    "export default entry.default;",
  ].join("\n");
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

/** Native stack of a worker thread, in MB (see ENGINE-FACTS fact 2). */
export const WORKER_STACK_MB = 64;

/**
 * The engine stack a worker realm gets when the host did not set
 * `limits.stackBytes`: 1 MiB, about 6,500 frames of simple recursion (the
 * main-thread default of 256 KiB gives about 1,600). Measured on a 64 MB worker
 * stack: 1 MiB and 4 MiB both end deep recursion, 100k-deep `JSON.parse` and
 * 50k-deep nested source in clean `StackLimitError`s; 8 MiB crashes the worker
 * whatever its native stack, so this stays well below.
 */
export const WORKER_DEFAULT_STACK_BYTES = 1024 * 1024;

/**
 * `resourceLimits` for a worker: a backstop under the engine's own memory cap.
 * The guest heap is WebAssembly memory (outside the V8 heap); the V8 heap of
 * the worker holds only rexec's own host-side data — copies of results and
 * arguments, bounded by `resultBytes` — so it gets a fixed 64 MB plus the
 * larger of the guest cap and 16 × `resultBytes` (a result of many tiny objects
 * takes ~10× its encoded size once rebuilt). It must stay well above anything a
 * guest can make the worker allocate: Node turns a worker's heap exhaustion into
 * a clean `ERR_WORKER_OUT_OF_MEMORY` only when the heap fills gradually; one
 * allocation larger than what is left aborts the *whole process* (measured on
 * Node 20). The large native stack is what lets the guest recurse deeply
 * without corrupting the engine.
 */
export function workerResourceLimits(limits: Limits, override?: ResourceLimits): ResourceLimits {
  return {
    maxOldGenerationSizeMb: 64 + Math.ceil(Math.max(limits.memoryBytes, 16 * limits.resultBytes) / (1024 * 1024)),
    stackSizeMb: WORKER_STACK_MB,
    ...override,
  };
}

/**
 * A worker module for a pool library that loads it by file path (piscina):
 * the compiled `.js`, or from sources the `.ts` with tsx's loader in
 * `execArgv` (which does apply to modules the pool's own worker imports later).
 */
export function poolScript(relative: string): { filename: string; execArgv: string[] | undefined } {
  const target = new URL(`${relative}.${FROM_SOURCES ? "ts" : "js"}`, BASE);
  return { filename: fileURLToPath(target), execArgv: FROM_SOURCES ? ["--import", import.meta.resolve("tsx")] : undefined };
}

/**
 * What a worker thread gets so that it does not repeat the process's one-time
 * engine work: the compiled (and table-patched, see wasm-variant.ts) wasm
 * module. A `WebAssembly.Module` posted to a thread of the same process shares
 * its compiled code, including code V8 optimised after the warm-up
 * (warm-up.ts), so the thread neither compiles the binary nor runs its first
 * jobs in baseline code once any thread has warmed it up (measured in
 * bench/pool-cpu.mjs). With it goes the process-wide "warmed up" flag, so a
 * worker skips its own warm-up when that has happened.
 */
export interface SharedEngine {
  readonly variant: EngineVariantName;
  readonly wasmModule: WebAssembly.Module;
  /** What the compiling thread learnt about the binary (its hash, its stack top). */
  readonly facts?: EngineBinaryFacts;
  readonly warmedUp: SharedArrayBuffer;
}

/** The {@link SharedEngine} for workers of `variant`, compiled here once per process. */
export function sharedEngine(variant: EngineVariantName = ENGINE_VARIANT): SharedEngine {
  // No warm-up here: it would block the host's event loop, which worker mode
  // exists to keep free. The first thread to run an engine warms up for all.
  return { variant, wasmModule: compiledModule(variant), facts: engineBinaryFacts(variant), warmedUp: warmUpFlag(variant) };
}

/** Worker side: use the module the host posted (no compilation in this thread). */
export function adoptSharedEngine(shared: SharedEngine | undefined): void {
  if (!shared?.wasmModule) return;
  adoptCompiledModule(shared.variant, shared.wasmModule, shared.facts);
  adoptWarmUpFlag(shared.variant, shared.warmedUp);
}
