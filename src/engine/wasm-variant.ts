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
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { BroadcastChannel, threadId } from "node:worker_threads";
import type { QuickJSSyncVariant } from "quickjs-emscripten-core";
import quickjsNg from "@jitl/quickjs-ng-wasmfile-release-sync";
import quickjsClassic from "@jitl/quickjs-wasmfile-release-sync";
import { createHash } from "node:crypto";
import { patchEngineBinary } from "./wasm-table-export.js";

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
/** Compilations this thread has done (see {@link wasmCompilations}). */
let compilations = 0;
/**
 * Every compilation is also announced on this channel, which reaches every
 * thread of the process: the debug counter of compilations per process that
 * tests read to check workers use the host's module. Once per thread at most,
 * so it costs nothing measurable. Not part of the public API.
 */
export const COMPILE_CHANNEL = "rexec:debug:wasm-compile";
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
    const bytes = readFileSync(wasmPathOf(name));
    const patched = patchEngineBinary(bytes);
    let facts: EngineBinaryFacts;
    try {
      mod = new WebAssembly.Module(patched?.bytes ?? bytes);
      facts = { sha256: sha256Of(bytes), stackTop: patched?.stackTop, table: patched?.table ?? false };
    } catch (error) {
      if (!patched) throw error;
      mod = new WebAssembly.Module(bytes);
      facts = { sha256: sha256Of(bytes), stackTop: undefined, table: false };
    }
    keep(name, mod, facts);
  }
  return mod;
}

/** Compilations started by {@link precompileModule} and not finished yet. */
const compiling = new Map<EngineVariantName, Promise<void>>();

/**
 * Start compiling `name`'s module off the main thread, so that a process
 * that knows it will need an engine (the CLI) compiles while it loads the
 * rest of its code. {@link moduleCompiled} waits for it; {@link compiledModule}
 * never does (it compiles again rather than block), so callers that can wait
 * await {@link moduleCompiled} first. A failure is left for the synchronous
 * path to report.
 */
export function precompileModule(name: EngineVariantName = ENGINE_VARIANT): void {
  if (compiled.has(name) || compiling.has(name) || !Object.hasOwn(VARIANTS, name)) return;
  const done = (async () => {
    const bytes = await readFile(wasmPathOf(name));
    const patched = patchEngineBinary(bytes);
    if (!patched) return;
    const mod = await (WebAssembly as unknown as WebAssemblyAsync).compile(patched.bytes);
    if (!compiled.has(name)) keep(name, mod, { sha256: sha256Of(bytes), stackTop: patched.stackTop, table: patched.table });
  })().catch(() => {}).finally(() => compiling.delete(name));
  compiling.set(name, done);
}

/** `WebAssembly.compile`, missing from TypeScript's lib without DOM. */
interface WebAssemblyAsync {
  compile(bytes: Uint8Array): Promise<WebAssembly.Module>;
}

/** Resolves once a compilation {@link precompileModule} started has ended (at once if none). */
export function moduleCompiled(name: EngineVariantName): Promise<void> {
  return compiling.get(name) ?? Promise.resolve();
}

function wasmPathOf(name: EngineVariantName): string {
  if (!Object.hasOwn(VARIANTS, name)) throw new TypeError(`unknown engine ${JSON.stringify(String(name))}: use ${Object.keys(VARIANTS).map((n) => JSON.stringify(n)).join(" or ")}`);
  return requireFromHere.resolve(`${VARIANTS[name].packageName}/wasm`);
}

function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Record a compiled module and its facts, and announce the compilation. */
function keep(name: EngineVariantName, mod: WebAssembly.Module, facts: EngineBinaryFacts): void {
  binaryFacts.set(name, facts);
  compiled.set(name, mod);
  compilations++;
  const channel = new BroadcastChannel(COMPILE_CHANNEL);
  channel.postMessage({ variant: name, threadId });
  channel.close();
}

/** What the binary of a variant is, learnt when it was compiled (or adopted). */
export interface EngineBinaryFacts {
  /** SHA-256 of the shipped binary (before rexec's export patch). */
  readonly sha256: string | undefined;
  /** The C stack's top (the stack pointer's initial value), when the patch exported the stack pointer. */
  readonly stackTop: number | undefined;
  /** True when the function table is exported. */
  readonly table: boolean;
}

const binaryFacts = new Map<EngineVariantName, EngineBinaryFacts>();

/** The facts of `name`'s binary (compiling it first if this thread has no module yet). */
export function engineBinaryFacts(name: EngineVariantName): EngineBinaryFacts {
  compiledModule(name);
  return binaryFacts.get(name) ?? { sha256: undefined, stackTop: undefined, table: false };
}

/**
 * Use `mod` — the module {@link compiledModule} made in another thread of this
 * process, posted here — instead of compiling. A module posted between threads
 * shares its compiled code, including code V8 has since optimised (see
 * warm-up.ts), so a worker skips both the compilation and most of the
 * baseline-code phase. Only modules from rexec's own main thread are ever
 * adopted (worker start data), never anything a guest can reach. No effect when
 * this thread already has a module for `name`.
 */
export function adoptCompiledModule(name: EngineVariantName, mod: WebAssembly.Module, facts?: EngineBinaryFacts): void {
  if (!(mod instanceof WebAssembly.Module)) throw new TypeError("adoptCompiledModule: not a WebAssembly.Module");
  if (!compiled.has(name)) {
    compiled.set(name, mod);
    if (facts) binaryFacts.set(name, { sha256: typeof facts.sha256 === "string" ? facts.sha256 : undefined, stackTop: typeof facts.stackTop === "number" ? facts.stackTop : undefined, table: facts.table === true });
  }
}

/**
 * How many times this thread compiled a wasm binary: a debug counter for tests
 * (a worker given the shared module must report 0). Not part of the public API.
 */
export function wasmCompilations(): number {
  return compilations;
}

/** Bytes per wasm page. */
export const WASM_PAGE_BYTES = 65536;
/**
 * Pages the emscripten build requires at start (its declared minimum, 16 MiB):
 * static data, the C stack and the allocator's first arena live there. The guest
 * heap limit is added on top of this baseline.
 */
export const BASELINE_PAGES = 256;
