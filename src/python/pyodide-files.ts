/**
 * Where Pyodide is, and its wasm binary compiled with a memory cap.
 *
 * Invariant: every interpreter's memory has the maximum the host asked for.
 * Pyodide's wasm defines and exports its own memory with a 4 GiB maximum and
 * no option changes it (PYTHON-FACTS §3), so the maximum is rewritten in the
 * binary's memory section before compiling; the wasm then cannot grow past it
 * whatever the guest allocates (MemoryError in Python instead).
 *
 * Pyodide is an optional dependency: nothing here loads it until a Python
 * sandbox is made, and a missing package is a clear error.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The Pyodide version rexec's firewall allow-list was reviewed against. */
import { PYODIDE_VERSION, PyodideMissingError } from "./pyodide-version.js";

export { PYODIDE_VERSION, PyodideMissingError };

let directory: string | undefined;

/** The directory of the installed pyodide package (checked: exact version). */
export function pyodideDirectory(): string {
  if (directory) return directory;
  // Not named `require`: the CommonJS build rewrites import.meta.url into an expression that calls require.
  const resolver = createRequire(import.meta.url);
  let wasmPath: string;
  try {
    wasmPath = resolver.resolve("pyodide/pyodide.asm.wasm");
  } catch {
    throw new PyodideMissingError("it is not installed");
  }
  const dir = dirname(wasmPath);
  let version: unknown;
  try {
    version = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: unknown }).version;
  } catch {
    version = undefined;
  }
  // The allow-list in firewall.ts names imports of this exact build; another
  // build may route guest code through imports nobody reviewed.
  if (version !== PYODIDE_VERSION) throw new PyodideMissingError(`found version ${String(version)}`);
  directory = dir;
  return dir;
}

let binary: Buffer | undefined;

function readLeb(bytes: Uint8Array, at: number): [number, number] {
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    byte = bytes[at++]!;
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [result, at];
}

/**
 * A copy of `wasm` whose memory has `maxPages` as its maximum. The new value is
 * written in the old value's width (wasm accepts padded LEB128), so no offset
 * in the binary moves.
 */
export function patchMemoryMaximum(wasm: Uint8Array, maxPages: number): { binary: Buffer; initialPages: number } {
  const bytes = Buffer.from(wasm);
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at++]!;
    let size: number;
    [size, at] = readLeb(bytes, at);
    const start = at;
    if (id === 5) {
      let count: number, flags: number, initial: number;
      [count, at] = readLeb(bytes, at);
      [flags, at] = readLeb(bytes, at);
      [initial, at] = readLeb(bytes, at);
      if (count !== 1 || !(flags & 1)) throw new Error("unexpected memory section in pyodide.asm.wasm");
      const maxStart = at;
      [, at] = readLeb(bytes, at);
      const width = at - maxStart;
      if (maxPages < initial) throw new RangeError(`memory cap of ${maxPages} pages is below the interpreter's initial ${initial} pages`);
      let value = maxPages;
      for (let i = 0; i < width; i++) {
        let byte = value & 0x7f;
        value = Math.floor(value / 128);
        if (i < width - 1) byte |= 0x80;
        bytes[maxStart + i] = byte;
      }
      if (value !== 0) throw new RangeError("memory cap does not fit the binary's field");
      return { binary: bytes, initialPages: initial };
    }
    at = start + size;
  }
  throw new Error("pyodide.asm.wasm has no memory section");
}

/** The parts of the WebAssembly API used here that src/types/webassembly.d.ts does not declare. */
export const wasmApi = (globalThis as unknown as { WebAssembly: {
  compile(bytes: Uint8Array): Promise<WebAssembly.Module>;
  instantiate(module: WebAssembly.Module, imports: object): Promise<{ exports: Record<string, unknown> }>;
} }).WebAssembly;

const compiled = new Map<number, Promise<WebAssembly.Module>>();

/** The interpreter's wasm compiled with a memory maximum of `memoryBytes` (rounded up to pages); cached per cap. */
export function cappedModule(memoryBytes: number): Promise<WebAssembly.Module> {
  const pages = Math.ceil(memoryBytes / 65536);
  let module = compiled.get(pages);
  if (!module) {
    binary ??= readFileSync(join(pyodideDirectory(), "pyodide.asm.wasm"));
    module = wasmApi.compile(patchMemoryMaximum(binary, pages).binary);
    compiled.set(pages, module);
    module!.catch(() => compiled.delete(pages));
  }
  return module!;
}
