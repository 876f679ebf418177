// Injected by scripts/build-builtins.mjs into every guest builtin bundle: the
// polyfills read `process.env.NODE_DEBUG`, `process.noDeprecation`, call
// `process.nextTick` / `process.cwd()`. The guest has no Node `process` (or only
// the restricted one rexec grants), so the bundles get this inert stand-in and
// never reach for a host object. `cwd()` defers to the guest's own
// `process.cwd` when the realm grants one, so `path.resolve` agrees with it.
const shim = {
  env: {},
  argv: [],
  version: "",
  versions: {},
  platform: "",
  browser: true,
  noDeprecation: false,
  throwDeprecation: false,
  traceDeprecation: false,
  nextTick: (fn, ...args) => {
    Promise.resolve().then(() => fn(...args));
  },
  cwd() {
    const p = globalThis.process;
    return p && p !== shim && typeof p.cwd === "function" ? String(p.cwd()) : "/";
  },
  emitWarning() {},
};
export { shim as process };
