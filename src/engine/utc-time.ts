/**
 * The guest's clock runs in UTC: its `Date` never learns the host's time zone.
 *
 * Invariant: no local-time computation in the engine reaches the host's time
 * zone database. QuickJS computes every local-time value (`getHours`,
 * `getTimezoneOffset`, `toString`, `new Date(y, m, d)`, `toLocaleString`…)
 * from C `localtime_r`, which this emscripten build implements with two
 * imports from its JavaScript glue: `_localtime_js` (fills a `struct tm` from
 * the host's `Date`, including `tm_gmtoff`) and `_tzset_js` (the host's offsets
 * and zone names). We instantiate the wasm module with both replaced by UTC
 * versions, so the fix is at the source: no guest-visible method is patched,
 * and a guest cannot undo it.
 *
 * The glue is minified, so the two imports are recognised by their code (the
 * only import functions that call `getTimezoneOffset`) and their arity. If a
 * build has any other such import, or lacks one of the two, instantiation
 * fails instead of silently showing the host's zone.
 *
 * @packageDocumentation
 */

type ImportFunction = (...args: never[]) => unknown;
/** The import object emscripten passes to `instantiateWasm` (namespace → name → value). */
export type WasmImports = Record<string, Record<string, unknown>>;
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
/** `WebAssembly.Instance`, which src/types/webassembly.d.ts does not declare. */
const Instance = (WebAssembly as unknown as { Instance: new (module: WebAssembly.Module, imports: WasmImports) => WasmInstance }).Instance;

/** Offsets of `struct tm` fields (wasm32 musl: ten 32-bit ints, then `tm_zone`). */
const TM_SEC = 0, TM_MIN = 4, TM_HOUR = 8, TM_MDAY = 12, TM_MON = 16, TM_YEAR = 20, TM_WDAY = 24, TM_YDAY = 28, TM_ISDST = 32, TM_GMTOFF = 36;
const ZONE_NAME = [0x55, 0x54, 0x43, 0]; // "UTC\0"
const DAY_MS = 86_400_000;

/** Which glue import a function is: the host-zone `localtime` or `tzset`, or neither. */
function timeImportKind(fn: ImportFunction): "localtime" | "tzset" | undefined {
  const source = Function.prototype.toString.call(fn);
  if (!source.includes("getTimezoneOffset")) return undefined;
  if (fn.length === 2 && source.includes("getSeconds")) return "localtime";
  if (fn.length === 4 && source.includes("padStart")) return "tzset";
  throw new Error("rexec: this QuickJS build reads the host time zone through an unknown import; refusing to start a guest that would see it");
}

/** The two imports, computing in UTC on `memory`. */
function utcImports(memory: WebAssembly.Memory): Record<"localtime" | "tzset", ImportFunction> {
  let view = new DataView(memory.buffer);
  // Growing the memory detaches the old buffer: take a fresh view when that happened.
  const mem = (): DataView => (view.buffer === memory.buffer ? view : (view = new DataView(memory.buffer)));
  const localtime = (time: bigint | number, tm: number): void => {
    // As the glue: seconds outside ±2^53 are not a time.
    const seconds = typeof time === "bigint" ? (time < -(2n ** 53n) || time > 2n ** 53n ? NaN : Number(time)) : time;
    const d = new Date(seconds * 1000);
    const year = d.getUTCFullYear();
    const yday = (Date.UTC(year, d.getUTCMonth(), d.getUTCDate()) - Date.UTC(year, 0, 1)) / DAY_MS;
    const v = mem();
    // `| 0` as the glue's Int32Array stores: an invalid time gives zeros, not a trap.
    v.setInt32(tm + TM_SEC, d.getUTCSeconds() | 0, true);
    v.setInt32(tm + TM_MIN, d.getUTCMinutes() | 0, true);
    v.setInt32(tm + TM_HOUR, d.getUTCHours() | 0, true);
    v.setInt32(tm + TM_MDAY, d.getUTCDate() | 0, true);
    v.setInt32(tm + TM_MON, d.getUTCMonth() | 0, true);
    v.setInt32(tm + TM_YEAR, (year - 1900) | 0, true);
    v.setInt32(tm + TM_WDAY, d.getUTCDay() | 0, true);
    v.setInt32(tm + TM_YDAY, yday | 0, true);
    v.setInt32(tm + TM_ISDST, 0, true);
    v.setInt32(tm + TM_GMTOFF, 0, true);
  };
  const tzset = (timezone: number, daylight: number, stdName: number, dstName: number): void => {
    const v = mem();
    v.setUint32(timezone, 0, true);
    v.setInt32(daylight, 0, true);
    for (const at of [stdName, dstName]) ZONE_NAME.forEach((byte, i) => v.setUint8(at + i, byte));
  };
  return { localtime, tzset };
}

/**
 * `imports` with the glue's time-zone imports replaced by UTC ones writing into
 * `memory` (the instance's memory). Throws if they cannot be found for sure.
 */
export function withUtcTime(imports: WasmImports, memory: WebAssembly.Memory): WasmImports {
  const replacements = utcImports(memory);
  const found = new Set<string>();
  const out: WasmImports = {};
  for (const [namespace, members] of Object.entries(imports)) {
    const copy: Record<string, unknown> = { ...members };
    for (const [name, value] of Object.entries(members)) {
      if (typeof value !== "function") continue;
      const kind = timeImportKind(value as ImportFunction);
      if (kind === undefined) continue;
      if (found.has(kind)) throw new Error(`rexec: this QuickJS build has two ${kind} imports; refusing to guess which shows the host time zone`);
      found.add(kind);
      copy[name] = replacements[kind];
    }
    out[namespace] = copy;
  }
  if (found.size !== 2) throw new Error("rexec: could not find this QuickJS build's time-zone imports; refusing to start a guest that would see the host time zone");
  return out;
}

/**
 * An emscripten `instantiateWasm` hook: instantiate the compiled `module` with
 * UTC time imports (and whatever else `moreImports` rewrites). Synchronous, so a failure rejects the module's start-up
 * promise instead of leaving it pending.
 */
export function utcInstantiateWasm(module: WebAssembly.Module, memory: WebAssembly.Memory, moreImports: (imports: WasmImports) => WasmImports = (i) => i) {
  return (imports: WasmImports, onSuccess: (instance: WasmInstance, module: WebAssembly.Module) => void): Record<string, unknown> => {
    const instance = new Instance(module, moreImports(withUtcTime(imports, memory)));
    onSuccess(instance, module);
    return instance.exports;
  };
}
