// @sebastianwessel/quickjs: a QuickJS-ng (wasm) sandbox with its own codec and node-ish globals.
import { loadQuickJs } from "@sebastianwessel/quickjs";
import ng from "@jitl/quickjs-ng-wasmfile-release-sync";
import { pkgVersion } from "./raw-quickjs.mjs";

export async function create() {
  const { runSandboxed } = await loadQuickJs(ng);
  const unwrap = (r) => {
    if (!r.ok) throw new Error(`${r.error?.name}: ${r.error?.message}`);
    return r.data;
  };
  /** Keep one sandbox open until the returned close() is called. */
  async function hold(options) {
    let release;
    const done = new Promise((r) => (release = r));
    let box;
    const opened = new Promise((resolve, reject) => {
      box = runSandboxed(async (sb) => {
        resolve(sb);
        await done;
      }, options).catch(reject);
    });
    const sb = await opened;
    return { sb, close: async () => { release(); await box; } };
  }
  return {
    sync: false,
    versions: { "@sebastianwessel/quickjs": pkgVersion("@sebastianwessel/quickjs") },
    async cold() {
      const v = await runSandboxed(async ({ evalCode }) => unwrap(await evalCode("export default 1+1")));
      if (v !== 2) throw new Error("bad result " + v);
    },
    async open() {
      const { sb, close } = await hold({ env: { hostAdd: (a, b) => a + b } });
      await sb.evalCode("globalThis.hostAdd = env.hostAdd; export default 0");
      return {
        eval: async (code) => unwrap(await sb.evalCode(`export default (${code})`)),
        exec: async (code) => void unwrap(await sb.evalCode(`${code}\nexport default 0`)),
        async guestFn(name) {
          const fn = unwrap(await sb.evalCode(`export default ${name}`));
          if (typeof fn !== "function") throw new Error("guest function did not cross");
          return fn;
        },
        close,
      };
    },
    async live() {
      const { sb, close } = await hold({});
      unwrap(await sb.evalCode("export default 1+1"));
      return close;
    },
  };
}
