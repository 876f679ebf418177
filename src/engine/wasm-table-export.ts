/**
 * The engine's wasm binary with its function table exported.
 *
 * The pinned QuickJS builds keep their function table (the targets of C
 * function pointers) private. Exporting it lets rexec add one function and
 * point a runtime hook at it (see rejection-tracker.ts) without rebuilding the
 * engine. Only the export section changes: the code is the shipped code.
 *
 * @packageDocumentation
 */

/** The name under which the patched binary exports its function table. */
export const TABLE_EXPORT = "rexec_function_table";


function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= bytes.length || shift > 28) throw new Error("bad LEB128");
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, at];
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

interface Section {
  readonly id: number;
  readonly headerStart: number;
  readonly start: number;
  readonly end: number;
}

function sections(bytes: Uint8Array): Section[] {
  const out: Section[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, start] = readLeb(bytes, at + 1);
    out.push({ id, headerStart: at, start, end: start + size });
    at = start + size;
  }
  if (at !== bytes.length) throw new Error("truncated section");
  return out;
}

/** Does the import section import a table? (Then table 0 would not be the module's own.) */
function importsTable(bytes: Uint8Array, section: Section): boolean {
  let [count, at] = readLeb(bytes, section.start);
  const skipName = (): void => {
    const [length, next] = readLeb(bytes, at);
    at = next + length;
  };
  const skipLimits = (): void => {
    const flags = bytes[at++]!;
    [, at] = readLeb(bytes, at);
    if (flags & 1) [, at] = readLeb(bytes, at);
  };
  while (count-- > 0) {
    skipName();
    skipName();
    const kind = bytes[at++]!;
    if (kind === 0x00) [, at] = readLeb(bytes, at); // function: type index
    else if (kind === 0x01) return true;
    else if (kind === 0x02) skipLimits(); // memory
    else if (kind === 0x03) at += 2; // global: value type, mutability
    else if (kind === 0x04) [, at] = readLeb(bytes, at + 1); // tag: attribute, type index
    else throw new Error(`unknown import kind ${kind}`);
  }
  return false;
}

/**
 * `bytes` with one more export: the module's only function table, as
 * {@link TABLE_EXPORT}. Undefined when the module is not of the expected shape
 * (no own funcref table, an imported table, several tables, no export section,
 * the name taken): then tracking is simply unavailable.
 */
export function exportFunctionTable(bytes: Uint8Array): Uint8Array | undefined {
  try {
    const all = sections(bytes);
    const imports = all.find((s) => s.id === 2);
    if (imports && importsTable(bytes, imports)) return undefined;
    const tables = all.find((s) => s.id === 4);
    if (!tables) return undefined;
    const [tableCount, firstTable] = readLeb(bytes, tables.start);
    if (tableCount !== 1 || bytes[firstTable] !== 0x70) return undefined;
    const exports = all.find((s) => s.id === 7);
    if (!exports) return undefined;
    const name = new TextEncoder().encode(TABLE_EXPORT);
    if (Buffer.from(bytes.subarray(exports.start, exports.end)).includes(Buffer.from(name))) return undefined;
    const [exportCount, entries] = readLeb(bytes, exports.start);
    const body = [...leb(exportCount + 1), ...bytes.subarray(entries, exports.end), ...leb(name.length), ...name, 0x01, 0x00];
    const out = new Uint8Array(bytes.length - (exports.end - exports.headerStart) + 1 + leb(body.length).length + body.length);
    out.set(bytes.subarray(0, exports.headerStart), 0);
    let at = exports.headerStart;
    for (const byte of [7, ...leb(body.length), ...body]) out[at++] = byte;
    out.set(bytes.subarray(exports.end), at);
    return out;
  } catch {
    return undefined;
  }
}
