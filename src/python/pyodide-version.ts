/**
 * The Pyodide release rexec's Python sandboxes are built for, and the error
 * that names it. Apart from pyodide-files.ts so that the package's public
 * declarations (which export the error) reach no WebAssembly types: a
 * consumer compiling with @types/node and no DOM lib has none.
 *
 * @packageDocumentation
 */

/** The exact pyodide version (the firewall's import list and the snapshot layout are this release's). */
export const PYODIDE_VERSION = "314.0.7";

/** Thrown when the optional `pyodide` package is missing or of another version. */
export class PyodideMissingError extends Error {
  constructor(detail: string) {
    super(`Python sandboxes need the optional package pyodide ${PYODIDE_VERSION} (${detail}); install it with: npm install pyodide@${PYODIDE_VERSION}`);
    this.name = "PyodideMissingError";
  }
}
