/**
 * `node:util` for the browser build: `types.isPromise` only. Node's check is
 * for a native promise; in a page every native promise is an instance of the
 * page realm's `Promise` (the core runs in one realm; host functions are host
 * code, so the prototype walk of `instanceof` runs no guest code).
 *
 * @packageDocumentation
 */
export const types = {
  isPromise(value: unknown): value is Promise<unknown> {
    return value instanceof Promise;
  },
};

export default { types };
