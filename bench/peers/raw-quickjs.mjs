// Raw quickjs-emscripten (no safety layer): the ceiling for rexec's engine.
// One compiled+instantiated wasm module shared by every context, as a plain
// quickjs-emscripten user would do it; no memory cap, no deadline, no copier.
import { posix } from "node:path";
import { newQuickJSWASMModuleFromVariant } from "quickjs-emscripten-core";
import ng from "@jitl/quickjs-ng-wasmfile-release-sync";
import classic from "@jitl/quickjs-wasmfile-release-sync";

export async function create({ variant = "quickjs-ng" } = {}) {
  const mod = await newQuickJSWASMModuleFromVariant(variant === "quickjs" ? classic : ng);

  function evalIn(ctx, code) {
    const h = ctx.unwrapResult(ctx.evalCode(code));
    try {
      return ctx.dump(h);
    } finally {
      h.dispose();
    }
  }

  return {
    sync: true,
    versions: { "quickjs-emscripten-core": pkgVersion("quickjs-emscripten-core"), build: variant === "quickjs" ? "@jitl/quickjs-wasmfile-release-sync" : "@jitl/quickjs-ng-wasmfile-release-sync" },
    cold() {
      const rt = mod.newRuntime();
      const ctx = rt.newContext();
      const v = evalIn(ctx, "1+1");
      ctx.dispose();
      rt.dispose();
      if (v !== 2) throw new Error("bad result");
    },
    open() {
      const rt = mod.newRuntime();
      const ctx = rt.newContext();
      ctx.newFunction("hostAdd", (a, b) => ctx.newNumber(ctx.getNumber(a) + ctx.getNumber(b))).consume((f) => ctx.setProp(ctx.global, "hostAdd", f));
      let gh;
      return {
        eval: (code) => evalIn(ctx, code),
        exec: (code) => void evalIn(ctx, code),
        guestFn(name) {
          gh = ctx.getProp(ctx.global, name);
          return (x, y) => {
            const a = ctx.newNumber(x), b = ctx.newNumber(y);
            const r = ctx.unwrapResult(ctx.callFunction(gh, ctx.undefined, a, b));
            const v = ctx.getNumber(r);
            r.dispose(); a.dispose(); b.dispose();
            return v;
          };
        },
        /** The raw engine has no structured copy: JSON text in, JSON.parse in the guest (the floor a raw embedder pays). */
        passIn(name, value) {
          const json = ctx.newString(JSON.stringify(value));
          const fn = ctx.unwrapResult(ctx.evalCode(`(s) => ${name}(JSON.parse(s))`));
          const r = ctx.unwrapResult(ctx.callFunction(fn, ctx.undefined, json));
          const v = ctx.getNumber(r);
          r.dispose(); fn.dispose(); json.dispose();
          return v;
        },
        close() {
          gh?.dispose();
          ctx.dispose();
          rt.dispose();
        },
      };
    },
    /** Import the 10-file tree on a fresh context: the namespace's data dumped out. Returns ms. */
    importOnce(files) {
      const rt = mod.newRuntime();
      rt.setModuleLoader(
        (name) => files[name] ?? { error: new Error("no " + name) },
        (base, spec) => (spec.startsWith(".") ? posix.join(posix.dirname(base), spec) : spec),
      );
      const ctx = rt.newContext();
      const t0 = performance.now();
      const res = ctx.unwrapResult(ctx.evalCode(`import * as ns from "./main.js"; globalThis.__ns = ns;`, "/entry.js", { type: "module" }));
      rt.executePendingJobs();
      res.dispose();
      const ns = ctx.getProp(ctx.global, "__ns");
      const data = ctx.dump(ns);
      ns.dispose();
      const t1 = performance.now();
      if (data.answer !== 90) throw new Error("bad import result " + JSON.stringify(data));
      ctx.dispose();
      rt.dispose();
      return t1 - t0;
    },
    live() {
      const rt = mod.newRuntime();
      const ctx = rt.newContext();
      evalIn(ctx, "1+1");
      return () => { ctx.dispose(); rt.dispose(); };
    },
  };
}

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
const require = createRequire(import.meta.url);
export function pkgVersion(name) {
  try {
    let dir = require.resolve(name);
    for (;;) {
      dir = posix.dirname(dir);
      try {
        const pkg = JSON.parse(readFileSync(dir + "/package.json", "utf8"));
        if (pkg.name === name) return pkg.version;
      } catch {}
      if (dir === "/") return "?";
    }
  } catch {
    return "not installed";
  }
}
