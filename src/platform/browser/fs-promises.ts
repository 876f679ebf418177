/**
 * `node:fs/promises` for the browser build: `readFile`, asynchronously, over
 * the same embedded files as ./fs.ts (the engine's wasm binary is not one of
 * them: src/browser/engine-loader.ts fetches it, so a read of it rejects).
 *
 * @packageDocumentation
 */
import { readFileSync } from "./fs.js";

export async function readFile(path: string | URL, encoding?: string | { encoding?: string }): Promise<ReturnType<typeof readFileSync>> {
  return readFileSync(path, encoding);
}

export default { readFile };
