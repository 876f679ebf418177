// Bundle the guest side of each safe builtin module from a well-kept polyfill.
//
// Output: dist/builtins/<name>.js, a CommonJS *function body*, evaluated by the
// guest loader as `(function (module, exports, require) { <body> })`.
//
// Each bundle is self-contained: requires between builtins (string_decoder →
// buffer, assert → util…) are bundled in, not left for the guest's `require`.
// So allowing one builtin never implicitly needs (or grants) another, and the
// loader needs no special path for builtin-internal requires. The cost is a
// duplicated copy here and there (e.g. `Buffer` inside string_decoder); the
// polyfills check buffers by duck typing, so copies interoperate.
//
// The bundles reference no host global: `process` is an injected inert shim
// (scripts/builtins/process-shim.js), `global` is `globalThis`, and the few
// other globals the polyfills touch (`console`, and `window`/`document` in
// typeof feature checks) are read off `globalThis`, i.e. the guest's own realm.
// Only JS builtins and `globalThis` remain as free identifiers (checked by
// test/loader/builtins.test.ts).
//
// Usage: node scripts/build-builtins.mjs (from anywhere). Prints nothing on success.
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(repo, "package.json"));
const outDir = join(repo, "dist", "builtins");

/** Guest builtin name → npm polyfill package. */
const BUILTINS = {
  path: "path-browserify",
  util: "util/",
  events: "events/",
  assert: "assert/",
  url: "url/",
  querystring: "querystring-es3",
  string_decoder: "string_decoder/",
  buffer: "buffer/",
};

mkdirSync(outDir, { recursive: true });
await Promise.all(
  Object.entries(BUILTINS).map(async ([name, pkg]) => {
    const result = await build({
      // The trailing slash makes Node resolve the npm package, not a Node builtin of the same name.
      entryPoints: [require.resolve(pkg)],
      bundle: true,
      write: false,
      format: "cjs",
      // "browser", not "neutral": only then does esbuild apply package.json `browser`
      // file maps (util → isBufferBrowser.js, object-inspect → no util.inspect),
      // which keep Node-only code and the `Buffer` global out of the bundles.
      platform: "browser",
      target: "es2020",
      mainFields: ["browser", "main"],
      conditions: ["browser", "require"],
      inject: [join(repo, "scripts", "builtins", "process-shim.js")],
      // Every remaining free global is read off `globalThis` (the guest realm),
      // so the bundles name no identifier but JS builtins and `globalThis`.
      // (`window`/`document`/`define` only appear in typeof feature checks.)
      define: {
        global: "globalThis",
        console: "globalThis.console",
        window: "globalThis.window",
        self: "globalThis.self",
        document: "globalThis.document",
        define: "globalThis.define",
      },
      legalComments: "inline",
      logLevel: "silent",
      charset: "utf8",
    });
    const body = `// Guest builtin "${name}" bundled from the npm package ${pkg.replace(/\/$/, "")} by scripts/build-builtins.mjs.\n${result.outputFiles[0].text}`;
    // As in Node, url.URL and url.URLSearchParams are the globals (src/host/guest/web-globals.js).
    const tail = name === "url" ? "module.exports.URL = globalThis.URL;\nmodule.exports.URLSearchParams = globalThis.URLSearchParams;\n" : "";
    writeFileSync(join(outDir, `${name}.js`), body + tail);
  }),
);
