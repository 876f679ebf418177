/**
 * The function QuickJS calls as its host promise-rejection tracker: a tiny
 * WebAssembly module, so that the engine never calls into JavaScript when a
 * promise is rejected.
 *
 * Invariant protected: tracking rejections never makes a guest kill its own
 * sandbox. A rejection can happen at the guest's deepest recursion (the
 * innermost async call failing with "stack overflow"); a JavaScript callback
 * there needs native stack that may not be left, and V8's stack-overflow
 * RangeError cannot be caught by wasm: it would unwind through the engine's C
 * frames and the engine would have to be dropped. This function only touches
 * wasm memory, with a frame smaller than one engine frame.
 *
 * What it does, on the engine's own memory (imported):
 * - `is_handled` 0 (rejected with no handler): take a reference to the
 *   promise (its count is the object's first word, as `JS_DupValue`) and
 *   append `address | 0` to a buffer;
 * - `is_handled` 1 (a handler was attached later): if `address | 0` is among
 *   the last 16 entries and the promise has another reference (its caller
 *   holds one), cancel that entry and give the reference back — the common
 *   "rejected, then handled in the same breath" pair never leaves wasm;
 *   otherwise append `address | 1`.
 * - a promise that is not an object (never seen), or a full buffer that the
 *   host could not empty: set `lost` (the host then reports nothing).
 *
 * When the buffer is full it calls the host's `full` import once to empty it.
 * That is the one call into JavaScript, after thousands of rejections still
 * unhandled within one engine entry; if it happened at the native stack's
 * very end, the engine would be dropped as on any native stack overflow.
 *
 * @packageDocumentation
 */

/** Entries of the buffer (4 bytes each). */
export const RECORDER_CAPACITY = 4096;

/** A live recorder: its tracker function for the engine's table, and its state. */
export interface Recorder {
  /** The wasm function to put in the engine's function table. */
  readonly tracker: unknown;
  /** Address of the buffer in engine memory (set by the host). */
  readonly buffer: WasmGlobal;
  /** Capacity in entries (set by the host). */
  readonly capacity: WasmGlobal;
  /** Entries in use. */
  readonly count: WasmGlobal;
  /** Non-zero when an event could not be recorded. */
  readonly lost: WasmGlobal;
}

/** A mutable i32 `WebAssembly.Global`. */
export interface WasmGlobal {
  value: number;
}

interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
const Instance = (WebAssembly as unknown as { Instance: new (module: WebAssembly.Module, imports: Record<string, Record<string, unknown>>) => WasmInstance }).Instance;

// --- A minimal assembler for this one module -------------------------------------------------

const I32 = 0x7f, I64 = 0x7e, EMPTY = 0x40;
const op = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f, call: 0x10,
  localGet: 0x20, localSet: 0x21, localTee: 0x22, globalGet: 0x23, globalSet: 0x24,
  i32Load: 0x28, i32Store: 0x36, i32Const: 0x41, i64Const: 0x42,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32GtS: 0x4a, i32GeU: 0x4f, i64Ne: 0x52,
  i32Add: 0x6a, i32Sub: 0x6b, i32Or: 0x72, i32Shl: 0x74, i64ShrS: 0x87, i32WrapI64: 0xa7,
} as const;
/** Memory immediates for a 4-byte-aligned access at offset 0. */
const MEM = [2, 0];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function name(text: string): number[] {
  return [...uleb(text.length), ...[...text].map((c) => c.charCodeAt(0))];
}

function section(id: number, items: number[][]): number[] {
  const body = [...uleb(items.length), ...items.flat()];
  return [id, ...uleb(body.length), ...body];
}

// Parameters: 0 ctx, 1 promise (i64), 2 reason (i64), 3 is_handled, 4 opaque.
// Locals: 5 address, 6 index, 7 entry pointer, 8 reference count.
// Globals: 0 buffer, 1 capacity, 2 count, 3 lost. Function 0: the host's `full`.
const P_PROMISE = 1, P_HANDLED = 3, L_ADDR = 5, L_I = 6, L_PTR = 7, L_RC = 8;
const G_BUF = 0, G_CAP = 1, G_COUNT = 2, G_LOST = 3;

const setLostAndReturn = [op.i32Const, 1, op.globalSet, G_LOST, op.return];
const entryAt = (index: number[]) => [op.globalGet, G_BUF, ...index, op.i32Const, 2, op.i32Shl, op.i32Add];

const BODY = [
  1, 4, I32, // four i32 locals
  // is_handled as 0/1
  op.localGet, P_HANDLED, op.i32Const, 0, op.i32Ne, op.localSet, P_HANDLED,
  // Objects only: the high word of a NaN-boxed object is JS_TAG_OBJECT (-1).
  op.localGet, P_PROMISE, op.i64Const, 32, op.i64ShrS, op.i64Const, 0x7f, op.i64Ne,
  op.if, EMPTY, ...setLostAndReturn, op.end,
  op.localGet, P_PROMISE, op.i32WrapI64, op.localSet, L_ADDR,
  op.localGet, P_HANDLED,
  op.if, EMPTY,
  //   Handled: look for `address | 0` among the last 16 entries.
  op.globalGet, G_COUNT, op.localSet, L_I,
  op.block, EMPTY,
  op.loop, EMPTY,
  op.localGet, L_I, op.i32Eqz, op.brIf, 1,
  op.globalGet, G_COUNT, op.localGet, L_I, op.i32Sub, op.i32Const, 16, op.i32GeU, op.brIf, 1,
  op.localGet, L_I, op.i32Const, 1, op.i32Sub, op.localSet, L_I,
  ...entryAt([op.localGet, L_I]), op.localTee, L_PTR, op.i32Load, ...MEM,
  op.localGet, L_ADDR, op.i32Eq,
  op.if, EMPTY,
  op.localGet, L_ADDR, op.i32Load, ...MEM, op.localTee, L_RC, op.i32Const, 1, op.i32GtS,
  op.if, EMPTY,
  //         Cancel: give the reference back, empty the entry, shrink if it was the last.
  op.localGet, L_ADDR, op.localGet, L_RC, op.i32Const, 1, op.i32Sub, op.i32Store, ...MEM,
  op.localGet, L_PTR, op.i32Const, 0, op.i32Store, ...MEM,
  op.localGet, L_I, op.i32Const, 1, op.i32Add, op.globalGet, G_COUNT, op.i32Eq,
  op.if, EMPTY, op.localGet, L_I, op.globalSet, G_COUNT, op.end,
  op.return,
  op.end,
  op.br, 2, // found but it holds the only reference: append instead (the host sorts it out)
  op.end,
  op.br, 0,
  op.end, // loop
  op.end, // block
  op.end, // if handled
  // Append `address | is_handled`, emptying a full buffer through the host first.
  op.globalGet, G_COUNT, op.globalGet, G_CAP, op.i32GeU, op.if, EMPTY, op.call, 0, op.end,
  op.globalGet, G_COUNT, op.globalGet, G_CAP, op.i32GeU, op.if, EMPTY, ...setLostAndReturn, op.end,
  //   A record holds a reference (JS_DupValue: the count is the object's first word).
  op.localGet, P_HANDLED, op.i32Eqz,
  op.if, EMPTY, op.localGet, L_ADDR, op.localGet, L_ADDR, op.i32Load, ...MEM, op.i32Const, 1, op.i32Add, op.i32Store, ...MEM, op.end,
  ...entryAt([op.globalGet, G_COUNT]), op.localGet, L_ADDR, op.localGet, P_HANDLED, op.i32Or, op.i32Store, ...MEM,
  op.globalGet, G_COUNT, op.i32Const, 1, op.i32Add, op.globalSet, G_COUNT,
  op.end,
];

const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, [[0x60, 5, I32, I64, I64, I32, I32, 0], [0x60, 0, 0]]),
  ...section(2, [[...name("h"), ...name("full"), 0x00, 1], [...name("h"), ...name("mem"), 0x02, 0x00, 0x00]]),
  ...section(3, [[0]]),
  ...section(6, [0, 1, 2, 3].map(() => [I32, 1, op.i32Const, 0, op.end])),
  ...section(7, [
    [...name("f"), 0x00, 1],
    [...name("buffer"), 0x03, G_BUF],
    [...name("capacity"), 0x03, G_CAP],
    [...name("count"), 0x03, G_COUNT],
    [...name("lost"), 0x03, G_LOST],
  ]),
  ...section(10, [[...uleb(BODY.length), ...BODY]]),
]);

let compiled: WebAssembly.Module | undefined;

/** A recorder working on `memory`; `full` must empty the buffer (set `count` to 0). */
export function newRecorder(memory: WebAssembly.Memory, full: () => void): Recorder {
  compiled ??= new WebAssembly.Module(MODULE_BYTES);
  const exports = new Instance(compiled, { h: { full, mem: memory } }).exports;
  return {
    tracker: exports["f"],
    buffer: exports["buffer"] as WasmGlobal,
    capacity: exports["capacity"] as WasmGlobal,
    count: exports["count"] as WasmGlobal,
    lost: exports["lost"] as WasmGlobal,
  };
}
