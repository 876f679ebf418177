/**
 * Loading the engine's WebAssembly binary in a browser.
 *
 * Decision: the binary is a separate file (dist/browser/quickjs-ng.wasm),
 * fetched and compiled asynchronously once per page or worker, not embedded in
 * the bundle. Embedding would add a third to its 0.5 MB (base64), be
 * re-parsed as JavaScript on every load, and force a synchronous compile
 * (which Chromium refuses on a page's main thread above a size limit); a
 * separate file is cached by the browser and compiled off the main thread.
 * `WebAssembly.compileStreaming` cannot be used: rexec patches the binary's
 * export section before compiling (src/engine/wasm-table-export.ts — the
 * function table and stack pointer for the rejection tracker and the stack
 * limit), so the bytes are read first and compiled with `WebAssembly.compile`.
 *
 * The compiled module is handed to the engine with `adoptCompiledModule`, the
 * same entry worker threads use on Node, so the engine never reads a file.
 *
 * @packageDocumentation
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { adoptCompiledModule, ENGINE_VARIANT } from "../engine/wasm-variant.js";
import { patchEngineBinary } from "../engine/wasm-table-export.js";

/** Options of {@link initRExec}. */
export interface InitOptions {
  /** Where the engine's wasm binary is served (default: `quickjs-ng.wasm` beside this bundle). */
  readonly wasmUrl?: string | URL;
}

/** `WebAssembly.compile` (asynchronous; absent from the project's own WebAssembly typings, src/types/webassembly.d.ts). */
const compile = (bytes: Uint8Array): Promise<WebAssembly.Module> =>
  (WebAssembly as unknown as { compile(bytes: Uint8Array): Promise<WebAssembly.Module> }).compile(bytes);

let loading: Promise<void> | undefined;

/**
 * Fetch and compile the engine once; every later call returns the same
 * promise (a failed load may be retried). Await it before `new RExec()`.
 */
export function initRExec(options: InitOptions = {}): Promise<void> {
  loading ??= load(options.wasmUrl ?? new URL("./quickjs-ng.wasm", import.meta.url)).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

async function load(url: string | URL): Promise<void> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`rexec: could not load the engine from ${String(url)}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const facts = { sha256: bytesToHex(sha256(bytes)) };
  const patched = patchEngineBinary(bytes);
  let mod: WebAssembly.Module;
  try {
    mod = await compile(patched?.bytes ?? bytes);
    adoptCompiledModule(ENGINE_VARIANT, mod, { ...facts, stackTop: patched?.stackTop, table: patched?.table ?? false });
  } catch (error) {
    // As on Node (wasm-variant.ts): a binary the patch broke is compiled as shipped, without tracking.
    if (!patched) throw error;
    mod = await compile(bytes);
    adoptCompiledModule(ENGINE_VARIANT, mod, { ...facts, stackTop: undefined, table: false });
  }
}
