// isolated-vm: a separate V8 isolate per sandbox (needs --no-node-snapshot on Node 20).
import { createRequire } from "node:module";
import { pkgVersion } from "./raw-quickjs.mjs";
const require = createRequire(import.meta.url);

export async function create() {
  const ivm = require("isolated-vm"); // throws if the native addon failed to build
  return {
    sync: true,
    versions: { "isolated-vm": pkgVersion("isolated-vm") },
    cold() {
      const iso = new ivm.Isolate({ memoryLimit: 64 });
      const ctx = iso.createContextSync();
      const v = ctx.evalSync("1+1");
      iso.dispose();
      if (v !== 2) throw new Error("bad result");
    },
    open() {
      const iso = new ivm.Isolate({ memoryLimit: 128 });
      const ctx = iso.createContextSync();
      ctx.global.setSync("hostAdd", new ivm.Callback((a, b) => a + b));
      return {
        eval: (code) => ctx.evalSync(code, { copy: true }),
        exec: (code) => void ctx.evalSync(code),
        guestFn(name) {
          const ref = ctx.global.getSync(name, { reference: true });
          return (a, b) => ref.applySync(undefined, [a, b]);
        },
        close: () => iso.dispose(),
      };
    },
    live() {
      const iso = new ivm.Isolate({ memoryLimit: 64 });
      const ctx = iso.createContextSync();
      ctx.evalSync("1+1");
      return () => iso.dispose();
    },
  };
}
