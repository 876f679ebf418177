/**
 * Which QuickJS build runs guest code, and the compiled WebAssembly module
 * shared by every sandbox in this process.
 *
 * The variant is a one-line choice ({@link ENGINE_VARIANT}); `npm run bench`
 * compares both builds. Compiling the wasm binary is done once per process and
 * per variant: a sandbox only pays for *instantiating* it with its own memory.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { QuickJSSyncVariant } from "quickjs-emscripten-core";
import quickjsNg from "@jitl/quickjs-ng-wasmfile-release-sync";
import quickjsClassic from "@jitl/quickjs-wasmfile-release-sync";
import { exportFunctionTable, TABLE_EXPORT } from "./wasm-table-export.js";

/** The QuickJS builds rexec can run on. */
export type EngineVariantName = "quickjs-ng" | "quickjs";

/**
 * The build used when none is asked for. Chosen with `npm run bench` (see
 * bench/RESULTS.md) and the test suite: classic QuickJS is faster on compute
 * and on copying large results, but after a guest filled its heap with many
 * small objects it did not recover (every later call, even one that would free
 * the memory, failed with out-of-memory), while QuickJS-ng did. A sandbox must
 * be usable again after a limit error, so QuickJS-ng is the default; classic
 * stays one option away (`engine: "quickjs"`).
 */
export const ENGINE_VARIANT: EngineVariantName = "quickjs-ng";

interface VariantInfo {
  readonly variant: QuickJSSyncVariant;
  readonly packageName: string;
}

const VARIANTS: Record<EngineVariantName, VariantInfo> = {
  "quickjs-ng": { variant: quickjsNg as unknown as QuickJSSyncVariant, packageName: "@jitl/quickjs-ng-wasmfile-release-sync" },
  quickjs: { variant: quickjsClassic as unknown as QuickJSSyncVariant, packageName: "@jitl/quickjs-wasmfile-release-sync" },
};

const compiled = new Map<EngineVariantName, WebAssembly.Module>();
const requireFromHere = createRequire(import.meta.url);

/** The base variant object of `name` (to be customised with a memory per sandbox). */
export function baseVariant(name: EngineVariantName): QuickJSSyncVariant {
  return VARIANTS[name].variant;
}

/**
 * The compiled wasm module of `name`, compiled on first use and then shared.
 * Its function table is exported as {@link TABLE_EXPORT} when the binary has
 * the expected shape (for the rejection tracker, see wasm-table-export.ts);
 * otherwise the binary is compiled as shipped and tracking is unavailable.
 */
export function compiledModule(name: EngineVariantName): WebAssembly.Module {
  let mod = compiled.get(name);
  if (!mod) {
    const wasmPath = requireFromHere.resolve(`${VARIANTS[name].packageName}/wasm`);
    const bytes = readFileSync(wasmPath);
    const patched = exportFunctionTable(bytes);
    try {
      mod = new WebAssembly.Module(patched ?? bytes);
    } catch (error) {
      if (!patched) throw error;
      mod = new WebAssembly.Module(bytes);
    }
    compiled.set(name, mod);
  }
  return mod;
}

/** Bytes per wasm page. */
export const WASM_PAGE_BYTES = 65536;
/**
 * Pages the emscripten build requires at start (its declared minimum, 16 MiB):
 * static data, the C stack and the allocator's first arena live there. The guest
 * heap limit is added on top of this baseline.
 */
export const BASELINE_PAGES = 256;
