/**
 * The script a Python worker thread starts with: the compiled `.js` next to
 * this module. When rexec runs from its TypeScript sources (its own tests,
 * under tsx), the worker entry and its few imports are bundled once per
 * process with esbuild (a dev dependency) into a `data:` module: starting tsx
 * inside every interpreter's thread cost ~1 s per sandbox.
 *
 * @packageDocumentation
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const FROM_SOURCES = import.meta.url.endsWith(".ts");
let bundled: URL | undefined;

/** URL of the Python worker entry (py-worker). */
export function pythonWorkerScript(): URL {
  if (!FROM_SOURCES) return new URL("./py-worker.js", import.meta.url);
  if (bundled) return bundled;
  const esbuild = createRequire(import.meta.url)("esbuild") as {
    buildSync(options: Record<string, unknown>): { outputFiles: { text: string }[] };
  };
  const { outputFiles } = esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL("./py-worker.ts", import.meta.url))],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    write: false,
  });
  bundled = new URL(`data:text/javascript,${encodeURIComponent(outputFiles[0]!.text)}`);
  return bundled;
}
