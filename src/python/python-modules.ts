/**
 * Python modules and files through rexec's RHooks: the same FileSystemHooks,
 * MemoryHooks and UrlHooks objects that serve JavaScript modules serve `.py`
 * files and packages. The hooks keep their own guarantees (nothing outside
 * the roots or allowed origins); this file only maps Python names to paths.
 *
 * Invariant: a Python name becomes a path only through {@link MODULE_NAME}
 * (identifiers joined by dots: no `/`, no `..`), and only ids ending in `.py`
 * are accepted back from the hooks (a hook's JavaScript-style resolution must
 * not turn `calc.py` into `calc.py.js`).
 *
 * @packageDocumentation
 */
import type { RHooks } from "../loader/types.js";

/** Identifiers joined by dots. */
export const MODULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** A Python module found through the hooks. */
export interface FoundModule {
  /** The canonical id (what tracebacks show as the file). */
  readonly path: string;
  readonly source: string;
  /** True for a package (`pkg/__init__.py`). */
  readonly package: boolean;
}

async function tryLoad(hooks: RHooks, specifier: string, suffix: string): Promise<{ id: string; source: string } | undefined> {
  const id = await hooks.resolve(specifier, undefined, "import");
  if (typeof id !== "string" || !id.endsWith(suffix)) return undefined;
  const loaded = await hooks.load(id);
  if (typeof loaded?.source !== "string") return undefined;
  return { id, source: loaded.source };
}

/** `pkg.sub` → `./pkg/sub/__init__.py` (package first, as CPython) or `./pkg/sub.py`; `undefined` when neither exists. */
export async function findPythonModule(hooks: RHooks, name: string): Promise<FoundModule | undefined> {
  if (!MODULE_NAME.test(name)) return undefined;
  const base = `./${name.split(".").join("/")}`;
  const pkg = await tryLoad(hooks, `${base}/__init__.py`, "/__init__.py");
  if (pkg) return { path: pkg.id, source: pkg.source, package: true };
  const mod = await tryLoad(hooks, `${base}.py`, ".py");
  if (mod) return { path: mod.id, source: mod.source, package: false };
  return undefined;
}

/** A file for r_execfile, resolved as if the hooks' root imported it (`main.py` means `./main.py`). */
export async function loadPythonFile(hooks: RHooks, path: string): Promise<{ id: string; source: string } | undefined> {
  const specifier = path.startsWith("./") || path.startsWith("../") || path.startsWith("/") || /^[a-z]+:/i.test(path) ? path : `./${path}`;
  return tryLoad(hooks, specifier, "");
}
