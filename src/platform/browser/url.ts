/**
 * `node:url` for the browser build: `fileURLToPath`/`pathToFileURL` are used
 * only to locate Node worker entries and files, neither of which exist in a
 * page; they throw.
 *
 * @packageDocumentation
 */
export function fileURLToPath(url: string | URL): never {
  throw new Error(`rexec (browser): no file system (fileURLToPath ${String(url).slice(0, 100)})`);
}
export function pathToFileURL(path: string): never {
  throw new Error(`rexec (browser): no file system (pathToFileURL ${path.slice(0, 100)})`);
}

export default { fileURLToPath, pathToFileURL };
