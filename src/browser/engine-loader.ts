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

/** The sha256 of dist/browser/quickjs-ng.wasm, set by scripts/build-browser.mjs (absent when not bundled: no check). */
declare const __REXEC_ENGINE_SHA256__: string | undefined;

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
  const bytes = await fetchBinary(url);
  const facts = { sha256: bytesToHex(sha256(bytes)) };
  // Another build of the engine (a stale cached file, another rexec version's) does not fail cleanly:
  // the glue code runs it and it aborts on an assertion later, or behaves differently from the one the
  // boundary was checked against. The bundle knows the hash of the binary it was built with.
  const expected = typeof __REXEC_ENGINE_SHA256__ === "string" ? __REXEC_ENGINE_SHA256__ : undefined;
  if (expected !== undefined && facts.sha256 !== expected) {
    throw new Error(`rexec: the wasm at ${String(url).slice(0, 300)} is not the engine this build of rexec was made with (sha256 ${facts.sha256.slice(0, 12)}…, expected ${expected.slice(0, 12)}…): a stale cached copy, or another version's file; serve the quickjs-ng.wasm from the same build as the bundle`);
  }
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

/** The wasm magic number and version 1: `\0asm` 01 00 00 00. */
const WASM_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/**
 * The engine binary's bytes, or an error that names the URL and says what went
 * wrong: a bare "Failed to fetch" or "expected magic word" from the browser
 * does not say which file, and a server that answers every path with its HTML
 * page (status 200) is the usual cause of the second.
 */
async function fetchBinary(url: string | URL): Promise<Uint8Array> {
  const where = String(url).slice(0, 300);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    const fileHint = String((globalThis as { location?: { protocol?: string } }).location?.protocol) === "file:" ? "; a page opened from file:// cannot fetch it: serve the page over http(s)" : "";
    throw new Error(`rexec: could not load the engine from ${where}: ${error instanceof Error ? error.message : "fetch failed"}${fileHint} (pass initRExec({ wasmUrl }) or WebWorkerRExec's wasmUrl if the file is elsewhere)`, { cause: error });
  }
  if (!response.ok) throw new Error(`rexec: could not load the engine from ${where}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (!WASM_HEADER.every((b, i) => bytes[i] === b)) {
    const type = (response.headers.get("content-type") ?? "no content-type").slice(0, 80);
    throw new Error(`rexec: the engine at ${where} is not a WebAssembly binary (${type}, ${bytes.length} bytes): the server answered that URL with something else; pass initRExec({ wasmUrl }) or WebWorkerRExec's wasmUrl with the URL of quickjs-ng.wasm`);
  }
  return bytes;
}
