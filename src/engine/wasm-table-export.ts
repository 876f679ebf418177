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
/** The name under which the patched binary exports its stack pointer (its only mutable global). */
export const STACK_POINTER_EXPORT = "rexec_stack_pointer";


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

/** Count imported globals (they come first in the global index space). */
function importedGlobals(bytes: Uint8Array, section: Section | undefined): number {
  if (!section) return 0;
  let [count, at] = readLeb(bytes, section.start);
  let globals = 0;
  const skipName = (): void => {
    const [length, next] = readLeb(bytes, at);
    at = next + length;
  };
  while (count-- > 0) {
    skipName();
    skipName();
    const kind = bytes[at++]!;
    if (kind === 0x00) [, at] = readLeb(bytes, at);
    else if (kind === 0x01) {
      at++;
      const flags = bytes[at++]!;
      [, at] = readLeb(bytes, at);
      if (flags & 1) [, at] = readLeb(bytes, at);
    } else if (kind === 0x02) {
      const flags = bytes[at++]!;
      [, at] = readLeb(bytes, at);
      if (flags & 1) [, at] = readLeb(bytes, at);
    } else if (kind === 0x03) {
      at += 2;
      globals++;
    } else if (kind === 0x04) [, at] = readLeb(bytes, at + 1);
    else throw new Error(`unknown import kind ${kind}`);
  }
  return globals;
}

/** The module's mutable globals: index and `i32.const` initial value (undefined for other initialisers). */
function mutableGlobals(bytes: Uint8Array, section: Section, firstIndex: number): Array<{ index: number; init: number | undefined }> {
  let [count, at] = readLeb(bytes, section.start);
  const out: Array<{ index: number; init: number | undefined }> = [];
  for (let i = 0; i < count; i++) {
    const type = bytes[at++]!;
    const mutable = bytes[at++]! === 1;
    let init: number | undefined;
    if (type === 0x7f && bytes[at] === 0x41) {
      // i32.const, signed LEB128
      let value = 0;
      let shift = 0;
      let byte: number;
      at++;
      do {
        byte = bytes[at++]!;
        value |= (byte & 0x7f) << shift;
        shift += 7;
      } while (byte & 0x80);
      if (shift < 32 && byte & 0x40) value |= -1 << shift;
      init = value;
    }
    while (bytes[at] !== 0x0b) at++; // rest of the constant expression (only simple ones appear here)
    at++;
    if (mutable) out.push({ index: firstIndex + i, init });
  }
  return out;
}

/** The patched binary and what the patch learnt about it. */
export interface PatchedEngineBinary {
  readonly bytes: Uint8Array;
  /** True when the function table is exported as {@link TABLE_EXPORT}. */
  readonly table: boolean;
  /** The stack pointer's initial value (the top of the C stack), when exported as {@link STACK_POINTER_EXPORT}. */
  readonly stackTop: number | undefined;
}

/**
 * `bytes` with its function table exported as {@link TABLE_EXPORT} and, when
 * the module has exactly one mutable global (emscripten's `__stack_pointer`,
 * an `i32.const`-initialised i32), that global as {@link STACK_POINTER_EXPORT}.
 * Realm images (realm-image.ts) need the stack pointer: it is the only
 * engine state outside linear memory. Undefined when nothing could be exported.
 */
export function patchEngineBinary(bytes: Uint8Array): PatchedEngineBinary | undefined {
  try {
    const all = sections(bytes);
    const imports = all.find((s) => s.id === 2);
    const extra: Array<{ name: Uint8Array; kind: number; index: number }> = [];
    const tables = all.find((s) => s.id === 4);
    if (tables && !(imports && importsTable(bytes, imports))) {
      const [tableCount, firstTable] = readLeb(bytes, tables.start);
      if (tableCount === 1 && bytes[firstTable] === 0x70) extra.push({ name: new TextEncoder().encode(TABLE_EXPORT), kind: 0x01, index: 0 });
    }
    let stackTop: number | undefined;
    const globals = all.find((s) => s.id === 6);
    if (globals) {
      const mutable = mutableGlobals(bytes, globals, importedGlobals(bytes, imports));
      if (mutable.length === 1 && mutable[0]!.init !== undefined) {
        stackTop = mutable[0]!.init;
        extra.push({ name: new TextEncoder().encode(STACK_POINTER_EXPORT), kind: 0x03, index: mutable[0]!.index });
      }
    }
    const exports = all.find((s) => s.id === 7);
    if (!exports || extra.length === 0) return undefined;
    const section = Buffer.from(bytes.subarray(exports.start, exports.end));
    if (extra.some((e) => section.includes(Buffer.from(e.name)))) return undefined;
    const [exportCount, entries] = readLeb(bytes, exports.start);
    const body = [...leb(exportCount + extra.length), ...bytes.subarray(entries, exports.end)];
    for (const e of extra) body.push(...leb(e.name.length), ...e.name, e.kind, ...leb(e.index));
    const out = new Uint8Array(bytes.length - (exports.end - exports.headerStart) + 1 + leb(body.length).length + body.length);
    out.set(bytes.subarray(0, exports.headerStart), 0);
    let at = exports.headerStart;
    for (const byte of [7, ...leb(body.length), ...body]) out[at++] = byte;
    out.set(bytes.subarray(exports.end), at);
    return { bytes: out, table: extra.some((e) => e.kind === 0x01), stackTop: extra.some((e) => e.kind === 0x03) ? stackTop : undefined };
  } catch {
    return undefined;
  }
}

/** `bytes` with its function table exported (see {@link patchEngineBinary}). */
export function exportFunctionTable(bytes: Uint8Array): Uint8Array | undefined {
  const patched = patchEngineBinary(bytes);
  return patched?.table ? patched.bytes : undefined;
}
