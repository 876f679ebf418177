// The browser build: dist/browser/rexec.js (the package's `browser` export),
// dist/browser/rexec-worker.js (the Web Worker of WebWorkerRExec),
// dist/browser/web-worker.js (`rexec/web-worker`: WebWorkerRExec alone, for pages),
// dist/browser/quickjs-ng.wasm (the engine, fetched at run time) and the
// playground's script dist/playground/app.js.
//
// The core is bundled unchanged. Its Node built-ins are swapped at bundle time
// for the small browser modules in src/platform/browser/ (see its README), and
// the build FAILS if any other `node:` built-in, or esbuild's Node package,
// enters the graph, or a Node-only package (NODE_ONLY_PACKAGES) — so a new
// Node dependency in the core is caught here, not in a user's page. Run after scripts/build.mjs (it reads the minified guest
// sources, web bundles and builtins from dist/, and embeds them).
//
// Usage: node scripts/build-browser.mjs. Exports buildBrowser() for the tests.
import { createHash } from "node:crypto";
import { build } from "esbuild";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const dist = join(root, "dist");
const platform = join(src, "platform", "browser");

/** Node built-in (or Node-only package) → its browser module. Anything else named `node:*` fails the build. */
export const PLATFORM_MODULES = {
  "node:fs": "fs.ts",
  "node:fs/promises": "fs-promises.ts",
  "node:crypto": "crypto.ts",
  "node:async_hooks": "async-hooks.ts",
  "node:util": "util.ts",
  "node:buffer": "buffer.ts",
  "node:module": "module.ts",
  "node:worker_threads": "worker-threads.ts",
  "node:net": "net.ts",
  "node:http": "host-network.ts",
  "node:https": "host-network.ts",
  "node:dns": "host-network.ts",
  "node:url": "url.ts",
  esbuild: "esbuild.ts",
};

/** Packages that only run on Node (native code, sockets, threads): importing one from the browser graph fails the build. */
export const NODE_ONLY_PACKAGES = ["fastify", "bullmq", "ioredis", "prom-client", "piscina", "pyodide", "isolated-vm", "playwright-core", "esbuild-wasm", "vm2", "tsx", "typescript"];

/**
 * Core modules replaced as a whole by their browser version: modules whose one
 * job is reaching something Node-only, such as loading a package lazily with
 * `createRequire` (a bundle has no require). Keyed by path under src/; an
 * entry whose file does not exist (yet) is simply never matched.
 */
export const PLATFORM_FILES = {
  "loader/esbuild-api.ts": "esbuild-api.ts",
  "host/acorn-api.ts": "acorn-api.ts",
};

/** The URL a core module sees as its `import.meta.url` (fs.ts serves files by these URLs). */
function coreUrl(file) {
  return `rexec-src:///pkg/${relative(root, file).split("\\").join("/").replace(/\.ts$/, ".js")}`;
}

/** Every file the core reads with readFileSync at run time, by the URL it reads it with. */
function embeddedFiles() {
  const files = {};
  const add = (file) => {
    files[`rexec-src:///pkg/${relative(root, file).split("\\").join("/")}`] = readFileSync(file, "utf8");
  };
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!statSync(path).isDirectory()) continue;
      if (name === "guest") for (const f of readdirSync(path)) if (f.endsWith(".js")) add(join(path, f));
      if (name !== "browser" && name !== "playground") walk(path);
    }
  };
  for (const needed of ["web", "builtins"]) {
    if (!existsSync(join(dist, needed))) throw new Error(`build-browser: dist/${needed} is missing; run node scripts/build.mjs first`);
    for (const f of readdirSync(join(dist, needed))) if (f.endsWith(".js")) add(join(dist, needed, f));
  }
  walk(dist);
  // The core asks for its guest sources under src/ (next to the .ts modules); dist/ holds their minified copies.
  for (const key of Object.keys(files)) {
    const m = /^rexec-src:\/\/\/pkg\/dist\/(.*\/guest\/.*)$/.exec(key);
    if (m) files[`rexec-src:///pkg/src/${m[1]}`] = files[key];
  }
  return files;
}

/** The esbuild plugin that makes the core browser-safe, or fails the build. */
export function platformPlugin(graphProblems) {
  return {
    name: "rexec-browser-platform",
    setup(b) {
      b.onResolve({ filter: /^node:|^esbuild$/ }, (args) => {
        const target = PLATFORM_MODULES[args.path];
        if (target) return { path: join(platform, target) };
        graphProblems.push(`${args.path} (imported by ${relative(root, args.importer)})`);
        return { errors: [{ text: `Node built-in ${args.path} reached the browser graph (from ${relative(root, args.importer)}); add a browser module in src/platform/browser/ or keep it out of the graph` }] };
      });
      b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
        if (!args.importer.startsWith(src)) return undefined;
        const rel = relative(src, join(dirname(args.importer), args.path)).split("\\").join("/").replace(/\.js$/, ".ts");
        const target = PLATFORM_FILES[rel];
        return target ? { path: join(platform, target) } : undefined;
      });
      const nodeOnly = new RegExp(`^(${NODE_ONLY_PACKAGES.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})(/|$)`);
      b.onResolve({ filter: nodeOnly }, (args) => {
        graphProblems.push(`${args.path} (imported by ${relative(root, args.importer)})`);
        return { errors: [{ text: `Node-only package ${args.path} reached the browser graph (from ${relative(root, args.importer)}); keep it out of the graph (a lazy import from a module the browser build does not reach)` }] };
      });
      b.onResolve({ filter: /^rexec:embedded-files$/ }, () => ({ path: "embedded-files", namespace: "rexec-embedded" }));
      b.onLoad({ filter: /.*/, namespace: "rexec-embedded" }, () => ({ contents: `export default ${JSON.stringify(embeddedFiles())};`, loader: "js" }));
      // Core modules locate their guest sources with import.meta.url: give each its own stable URL.
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.startsWith(src) || args.path.startsWith(join(src, "browser")) || args.path.startsWith(platform)) return undefined;
        const text = readFileSync(args.path, "utf8");
        if (!text.includes("import.meta.url")) return undefined;
        return { contents: text.replaceAll("import.meta.url", JSON.stringify(coreUrl(args.path))), loader: "ts" };
      });
    },
  };
}

const common = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  // Error classes are named by their constructors (GuestError, TimeoutError…): keep the names through minifying.
  keepNames: true,
  sourcemap: "linked",
  legalComments: "linked",
  charset: "utf8",
  logLevel: "warning",
  metafile: true,
  inject: [join(platform, "globals.ts")],
  // quickjs-emscripten's browser build; the `buffer` package, not Node's.
  conditions: ["browser"],
  // The engine binary shipped beside the bundles: the loader refuses any other (src/browser/engine-loader.ts).
  define: { __REXEC_ENGINE_SHA256__: JSON.stringify(createHash("sha256").update(readFileSync(createRequire(import.meta.url).resolve("@jitl/quickjs-ng-wasmfile-release-sync/wasm"))).digest("hex")) },
};

/**
 * Write a file by renaming a complete temporary copy over it: builds that run
 * at the same time (two browser test files start by building) never leave a
 * half-written bundle for a page to load.
 */
function writeAtomically(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/**
 * Build the browser bundles. `write: false` returns esbuild's results (with
 * metafiles) without touching dist/. Throws when a Node built-in reaches the graph.
 */
export async function buildBrowser({ write = true, entries } = {}) {
  const graphProblems = [];
  const out = join(dist, "browser");
  const results = {};
  const targets = entries ?? {
    rexec: join(src, "browser", "index.ts"),
    "rexec-worker": join(src, "browser", "worker-entry.ts"),
  };
  try {
    results.core = await build({ ...common, entryPoints: targets, outdir: out, write: false, plugins: [platformPlugin(graphProblems)] });
    if (!entries) {
      // The light page-side entry needs none of the Node globals of globals.ts (no Buffer package).
      results.webWorker = await build({ ...common, inject: [], entryPoints: { "web-worker": join(src, "browser", "page-entry.ts") }, outdir: out, write: false, plugins: [platformPlugin(graphProblems)] });
      results.playground = await build({
        ...common,
        inject: [],
        entryPoints: { app: join(root, "playground", "app.ts") },
        outdir: join(dist, "playground"),
        write: false,
        plugins: [platformPlugin(graphProblems)],
      });
    }
  } catch (error) {
    if (graphProblems.length > 0) error.message = `build-browser: Node built-ins in the browser graph: ${graphProblems.join(", ")}\n${error.message}`;
    throw error;
  }
  if (write) {
    for (const result of Object.values(results)) for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
    if (!entries) {
      const require = createRequire(import.meta.url);
      writeAtomically(join(out, "quickjs-ng.wasm"), readFileSync(require.resolve("@jitl/quickjs-ng-wasmfile-release-sync/wasm")));
    }
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await buildBrowser();
