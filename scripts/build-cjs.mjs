// The CommonJS entry (`require("rexec")`): dist/index.cjs, one esbuild bundle of
// the compiled ES modules in dist/ (dependencies stay external and are required).
//
// The modules find their files (guest sources, builtins, worker entries) next to
// themselves through `import.meta.url`, which CommonJS lacks; each module's
// `import.meta.url` is therefore replaced by the URL of the module's own file in
// dist/, so every relative lookup resolves exactly as in the ES build. Worker
// threads and pool threads still run the ES modules (dist/worker/worker-entry.js,
// dist/pool/pool-task.js): values and errors cross threads by copy, and are
// rebuilt as the CommonJS build's classes.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");

// A default import of a CommonJS package whose exports carry `__esModule` (the
// engine variants) means `module.exports` to Node's ESM loader but
// `module.exports.default` to a CommonJS build: a small shim gives the bundle
// what the ES build sees.
const esModuleDefaults = {
  name: "es-module-defaults",
  setup(build) {
    build.onResolve({ filter: /^@jitl\/quickjs(-ng)?-wasmfile-release-sync$/ }, (args) =>
      // The shim's own require is the real package.
      args.namespace === "default-of" ? { path: args.path, external: true } : { path: args.path, namespace: "default-of" });
    build.onLoad({ filter: /.*/, namespace: "default-of" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)}).default;`,
      loader: "js",
      resolveDir: root,
    }));
  },
};

const ownUrl = {
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist)) return undefined;
      const rel = relative(dist, args.path).split("\\").join("/");
      const contents = readFileSync(args.path, "utf8").replaceAll(
        "import.meta.url",
        `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${JSON.stringify(rel)})).href`,
      );
      return { contents, loader: "js" };
    });
  },
};

await build({
  entryPoints: [join(dist, "index.js")],
  outfile: join(dist, "index.cjs"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  packages: "external",
  plugins: [ownUrl, esModuleDefaults],
  // Only `import.meta.resolve` in spawn.ts remains, on a path taken when running from the .ts sources.
  logOverride: { "empty-import-meta": "silent" },
  logLevel: "warning",
});

// Types for `require("rexec")`: the same declarations, seen from a CommonJS importer.
writeFileSync(join(dist, "index.d.cts"), 'export * from "./index.js";\n');
