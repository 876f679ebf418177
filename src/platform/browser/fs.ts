/**
 * `node:fs` for the browser build: only `readFileSync` (and `existsSync`),
 * served from the sources embedded at build time.
 *
 * The core reads its guest-side sources next to its own modules
 * (`new URL("./guest/kernel.js", import.meta.url)`); the build rewrites each
 * core module's `import.meta.url` to `rexec-src:///pkg/src/<path>.js`, so the
 * URL the core computes names the embedded file. Anything else — the engine's
 * wasm binary included, which the browser entry compiles asynchronously and
 * hands to the engine before the first sandbox — is refused.
 *
 * @packageDocumentation
 */
import files from "rexec:embedded-files";
import { Buffer } from "./buffer-class.js";

/** The embedded file behind `path`, as text (`encoding` given) or bytes. */
export function readFileSync(path: string | URL, encoding?: string | { encoding?: string }): string | Buffer {
  const key = String(path);
  const text = Object.hasOwn(files, key) ? files[key] : undefined;
  if (text === undefined) {
    if (key.startsWith("rexec-package:")) {
      throw new Error("rexec (browser): the engine is not loaded yet: await initRExec() (or use WebWorkerRExec) before creating a sandbox");
    }
    const error = new Error(`rexec (browser): no embedded file ${key}`) as Error & { code: string };
    error.code = "ENOENT";
    throw error;
  }
  const enc = typeof encoding === "string" ? encoding : encoding?.encoding;
  return enc === undefined ? Buffer.from(text, "utf8") : text;
}

/** Whether `path` names an embedded file (the core probes for optional build outputs; a page has no others). */
export function existsSync(path: string | URL): boolean {
  return Object.hasOwn(files, String(path));
}

export default { readFileSync, existsSync };
