// The command line's start-up bundle: dist/cli-bundle/, one esbuild bundle of
// the compiled ES modules that `rexec eval 1+1` loads, with a chunk per lazily
// imported part (TypeScript checking, the REPL, remote modules…).
//
// Why: `rexec` is started once per command, and resolving, reading and
// compiling ~100 small modules one by one was the largest part of its start-up
// (issue 13: the start-up target is twice `node -e 1`). One file is read and
// compiled at once. Modules find their files (guest sources, builtins, worker
// entries) next to themselves through `import.meta.url`; each module's
// `import.meta.url` is replaced by the URL of its own file in dist/, computed
// from the bundle's, so every relative lookup resolves exactly as in dist/.
// Only small pure-JS packages are bundled (BUNDLED); the others locate files
// of their own (the engine builds, piscina, esbuild) or are large and
// optional (typescript, fastify, bullmq, pyodide).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
const out = join(dist, "cli-bundle");

const ownUrl = {
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist)) return undefined;
      const rel = relative(out, args.path).split("\\").join("/");
      const contents = readFileSync(args.path, "utf8").replaceAll("import.meta.url", `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
      return { contents, loader: "js" };
    });
  },
};

// Bundled: small pure-JS packages on the start-up path. Every other package is
// external, loaded from node_modules when (and if) a command imports it.
const BUNDLED = new Set(["@jridgewell/trace-mapping", "@jridgewell/sourcemap-codec", "@jridgewell/resolve-uri", "resolve.exports"]);
const packagesExternal = {
  name: "packages-external",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:")) return { path: args.path, external: true };
      const name = args.path.startsWith("@") ? args.path.split("/").slice(0, 2).join("/") : args.path.split("/")[0];
      return BUNDLED.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { main: join(dist, "cli/main.js") },
  outdir: out,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  plugins: [packagesExternal, ownUrl],
  // Less text to read and compile at every start; names are kept, so an
  // internal error's stack still names its functions.
  minifyWhitespace: true,
  minifySyntax: true,
  logOverride: { "empty-import-meta": "silent" },
  logLevel: "warning",
});

// The build's identity, for the CLI's on-disk realm images (src/cli/image-cache.ts):
// a hash of every file in dist/ the set-up of a realm can depend on. An image is
// only ever restored by the build that made it.
function hashTree(dir, hash) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) hashTree(path, hash);
    else if (!name.endsWith(".d.ts") && !name.endsWith(".map") && name !== "build-id.txt") hash.update(relative(dist, path)).update("\0").update(readFileSync(path)).update("\0");
  }
}
const id = createHash("sha256");
id.update(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version ?? "");
hashTree(dist, id);
writeFileSync(join(out, "build-id.txt"), `${id.digest("hex")}\n`);
