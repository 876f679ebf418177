/**
 * Failed heap growth, observed at the wasm import that grows the memory.
 *
 * Invariant: an allocation the memory cap refused is reported as the cap
 * being hit, even when the engine fails to say so. Some QuickJS natives
 * return an exception without setting one when `malloc` fails (seen:
 * `"é".repeat(3e6).normalize("NFD")` under a 32 MiB cap, which then "throws"
 * `undefined`), and a guest can also `throw undefined` on purpose. The engine
 * cannot tell the two apart; the memory import can: the emscripten glue's
 * resize-heap import returns false exactly when `WebAssembly.Memory.grow`
 * failed at the instance's maximum. Counting those failures lets the realm
 * classify a call that failed right after one as `MemoryLimitError`.
 *
 * The glue is minified, so the import is recognised by its code (the only
 * import that calls `.grow(`); a build without exactly one such import fails
 * to start rather than silently losing the count.
 *
 * @packageDocumentation
 */
import type { WasmImports } from "./utc-time.js";

type ResizeHeap = (requestedBytes: number) => unknown;

/** Counts the refused growths of one instance's memory. */
export class HeapGrowthWatch {
  /** How many times the engine asked for more memory and the cap refused. */
  failures = 0;

  /** `imports` with the resize-heap import wrapped to count refusals. */
  readonly wrap = (imports: WasmImports): WasmImports => {
    let found = 0;
    const out: WasmImports = {};
    for (const [namespace, members] of Object.entries(imports)) {
      const copy: Record<string, unknown> = { ...members };
      for (const [name, value] of Object.entries(members)) {
        if (typeof value !== "function" || value.length !== 1) continue;
        if (!Function.prototype.toString.call(value).includes(".grow(")) continue;
        found++;
        const resize = value as ResizeHeap;
        copy[name] = (requestedBytes: number) => {
          const grown = resize(requestedBytes);
          if (!grown) this.failures++;
          return grown;
        };
      }
      out[namespace] = copy;
    }
    if (found !== 1) throw new Error(`rexec: expected one heap-resize import in this QuickJS build, found ${found}; refusing to start`);
    return out;
  };
}
