/**
 * The binary JSON wire format of the pinned QuickJS-ng build
 * (`JS_WriteObject` / `JS_ReadObject`, BC_VERSION 23, quickjs-ng 0.12.1).
 *
 * Layout: one version byte; a LEB128 count of atoms, each `0, u32 id` (a
 * built-in atom of the running build, see atoms.ts) or `type, string` (type
 * 1 string, 2 global symbol, 3 symbol); then one value. Values start with a
 * tag byte ({@link Tag}); strings are `leb(len << 1 | wide)` then Latin-1
 * bytes or UTF-16LE code units; property keys are `leb(n << 1 | 1)` for an
 * integer key `n` or `leb(index << 1)` for atom-table entry `index - 1`.
 * Every object (object, array, ArrayBuffer, typed array — numbered before
 * its buffer —, Date, Map, Set) gets the next reference number when it is
 * first written; `OBJECT_REFERENCE leb(n)` names it again.
 *
 * Nothing here trusts a byte: see decode.ts.
 *
 * @packageDocumentation
 */

/** The format version this code reads and writes; any other is refused (old codec). */
export const BJSON_VERSION = 23;

/** Value tags (BCTagEnum). */
export const Tag = {
  NULL: 1,
  UNDEFINED: 2,
  FALSE: 3,
  TRUE: 4,
  INT32: 5,
  FLOAT64: 6,
  STRING: 7,
  OBJECT: 8,
  ARRAY: 9,
  BIG_INT: 10,
  TEMPLATE_OBJECT: 11,
  FUNCTION_BYTECODE: 12,
  MODULE: 13,
  TYPED_ARRAY: 14,
  ARRAY_BUFFER: 15,
  SHARED_ARRAY_BUFFER: 16,
  REGEXP: 17,
  DATE: 18,
  OBJECT_VALUE: 19,
  OBJECT_REFERENCE: 20,
  MAP: 21,
  SET: 22,
  SYMBOL: 23,
} as const;

/** Atom-table entry types. */
export const AtomType = { BUILTIN: 0, STRING: 1, GLOBAL_SYMBOL: 2, SYMBOL: 3 } as const;

/** Largest integer property key the engine keeps as a tagged-int atom (`JS_ATOM_MAX_INT`). */
export const MAX_INT_ATOM = 2 ** 31 - 1;

/** Most atoms the engine's reader accepts in one table ("unreasonable atom count"). */
export const MAX_ATOMS = 1_000_000;

/**
 * The value holds something this path does not carry exactly (a RegExp, a
 * boxed primitive, a symbol…): the caller copies it with the old codec.
 * Never leaves src/boundary.
 */
export class BjsonRefused extends Error {
  constructor(readonly what: string) {
    super(`binary copy refused: ${what}`);
    this.name = "BjsonRefused";
  }
}

/** What the running build writes, learned at start (atoms.ts). */
export interface BjsonBuild {
  /** Built-in atom names by atom id; `undefined` for ids that are symbols or out of range. */
  readonly atomNames: ReadonlyArray<string | undefined>;
  /** Built-in atom ids by name (string atoms only). */
  readonly atomIds: ReadonlyMap<string, number>;
  /** Typed array constructor names by the writer's array tag. */
  readonly viewKinds: ReadonlyArray<string | undefined>;
}
