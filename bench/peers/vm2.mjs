// vm2: node:vm plus proxies (deprecated upstream for security; still widely used).
import { createRequire } from "node:module";
import { pkgVersion } from "./raw-quickjs.mjs";
const require = createRequire(import.meta.url);

export async function create() {
  const { VM } = require("vm2");
  return {
    sync: true,
    versions: { vm2: pkgVersion("vm2") },
    cold() {
      const vm = new VM();
      if (vm.run("1+1") !== 2) throw new Error("bad result");
    },
    open() {
      const vm = new VM({ sandbox: { hostAdd: (a, b) => a + b } });
      return {
        eval: (code) => vm.run(code),
        exec: (code) => void vm.run(code),
        guestFn: (name) => vm.run(name),
        // Results are proxies into the sandbox; reading all of it through them is the copy.
        copy: (value) => JSON.parse(JSON.stringify(value)),
        close() {},
      };
    },
    live() {
      const vm = new VM();
      vm.run("1+1");
      return () => {};
    },
  };
}
