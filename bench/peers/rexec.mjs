// rexec, built (dist/index.js), with the engine variant given.
import { pkgVersion } from "./raw-quickjs.mjs";

const lib = await import("../../dist/index.js");
const { RExec } = lib;

export async function create({ variant = "quickjs-ng" } = {}) {
  const limits = { timeoutMs: 20000 };
  return {
    sync: false,
    versions: { rexec: JSON.parse((await import("node:fs")).readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version, "quickjs-emscripten-core": pkgVersion("quickjs-emscripten-core"), engine: variant },
    async cold() {
      const rx = new RExec({ engine: variant });
      const v = await rx.r_eval("1+1");
      rx.dispose();
      if (v !== 2) throw new Error("bad result");
    },
    async open() {
      const rx = new RExec({ engine: variant, limits, globals: { hostAdd: (a, b) => a + b } });
      const passFns = {};
      return {
        eval: (code) => rx.r_eval(code),
        exec: (code) => rx.r_exec(code),
        async guestFn(name) {
          const fn = await rx.r_eval(name);
          if (typeof fn !== "function") throw new Error("guest function did not cross");
          return fn;
        },
        /** Call guest function `name` with a copy of `value` (the function is fetched once). */
        async passIn(name, value) {
          passFns[name] ??= await rx.r_eval(name);
          return passFns[name](value);
        },
        close: () => rx.dispose(),
      };
    },
    /** r_import of the 10-file tree on a started sandbox; returns ms, or throws "not yet available". */
    async importOnce(files) {
      if (typeof lib.MemoryHooks !== "function") throw new NotAvailable("MemoryHooks is not exported from dist/index.js");
      const rx = new RExec({ engine: variant, hooks: new lib.MemoryHooks({ files }) });
      try {
        if (typeof rx.r_import !== "function") throw new NotAvailable("RExec#r_import is not implemented");
        await rx.r_eval("0");
        const t0 = performance.now();
        const ns = await rx.r_import("./main.js");
        const t1 = performance.now();
        if (ns.answer !== 90) throw new Error("bad import result " + JSON.stringify(ns));
        return t1 - t0;
      } finally {
        rx.dispose();
      }
    },
    async live() {
      const rx = new RExec({ engine: variant });
      await rx.r_eval("1+1");
      return () => rx.dispose();
    },
  };
}

export class NotAvailable extends Error {
  constructor(message) {
    super(message);
    this.name = "NotAvailable";
  }
}

/** Pool throughput: runs/sec of a small script with `size` workers, or NotAvailable. */
export async function poolThroughput(size, budgetMs) {
  const { RExecPool } = lib;
  if (typeof RExecPool !== "function") throw new NotAvailable("RExecPool is not exported from dist/index.js");
  const pool = new RExecPool({ size });
  const code = "let s = 0; for (let i = 0; i < 1000; i++) s += i; s";
  try {
    // Warm every worker.
    await Promise.all(Array.from({ length: size * 2 }, () => pool.run(code)));
    let done = 0;
    const t0 = performance.now();
    const inflight = size * 4;
    async function lane() {
      while (performance.now() - t0 < budgetMs) {
        const r = await pool.run(code);
        const value = r && typeof r === "object" && "value" in r ? r.value : r;
        if (value !== 499500) throw new Error("bad pool result " + JSON.stringify(r));
        done++;
      }
    }
    await Promise.all(Array.from({ length: inflight }, lane));
    const secs = (performance.now() - t0) / 1000;
    return { runsPerSec: done / secs, runs: done, seconds: secs };
  } finally {
    await (pool.close?.() ?? pool.destroy?.() ?? pool.dispose?.());
  }
}
