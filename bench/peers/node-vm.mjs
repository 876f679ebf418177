// node:vm — no isolation at all (same heap, same process): the in-process V8 ceiling.
import vm from "node:vm";

export async function create() {
  return {
    sync: true,
    versions: { node: process.versions.node, v8: process.versions.v8 },
    cold() {
      const ctx = vm.createContext({});
      if (vm.runInContext("1+1", ctx) !== 2) throw new Error("bad result");
    },
    open() {
      const ctx = vm.createContext({ hostAdd: (a, b) => a + b });
      return {
        eval: (code) => vm.runInContext(code, ctx),
        exec: (code) => void vm.runInContext(code, ctx),
        guestFn: (name) => vm.runInContext(name, ctx),
        // Same heap: nothing needs copying. Measured as a structuredClone to get an independent copy.
        copy: (value) => structuredClone(value),
        passIn: (name, value) => vm.runInContext(name, ctx)(structuredClone(value)),
        close() {},
      };
    },
    live() {
      const ctx = vm.createContext({});
      vm.runInContext("1+1", ctx);
      return () => {};
    },
  };
}
