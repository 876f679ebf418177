/**
 * Node-style module resolution, written once over an abstract view of a tree so
 * that {@link MemoryHooks} and {@link FileSystemHooks} behave identically.
 *
 * Everything here works on *guest* paths (see `guest-path.ts`); the view decides
 * what `/a/b` means (a map key, or a file under a host root). The algorithm can
 * therefore never name a host path: the worst a hostile specifier can do is name
 * a guest path that does not exist.
 *
 * Differences from Node, on purpose:
 * - Extensions are probed for `import` too (`./a` finds `./a.ts`), and a missing
 *   `./a.js` falls back to `./a.ts` (the TypeScript convention of importing `.ts`
 *   files by their emitted `.js` name).
 * - package.json `exports` use only the conditions `import`/`require` and
 *   `default` — never `node`, because the guest is not Node and `node` entries
 *   usually reach for Node builtins the sandbox does not have.
 * - URL specifiers (`file:`, `data:`…) are refused: a path-based tree has no URLs.
 *
 * @packageDocumentation
 */

import { exports as resolveExports, imports as resolveImports } from "resolve.exports";
import { RestrictedError } from "../host/errors.js";
import type { ModuleFormat, ResolveKind } from "./types.js";
import {
  assertSafeName,
  guestBasename,
  guestDirname,
  guestExtname,
  guestJoin,
  hasUrlScheme,
  isPathSpecifier,
  normalizeGuestPath,
  resolveGuestPath,
} from "./guest-path.js";

/** What the resolution algorithm needs to know about a tree. All paths are normalized guest paths. */
export interface ResolutionView {
  /** True when `path` is a regular file (after following symlinks that stay inside). */
  isFile(path: string): boolean;
  /** True when `path` is a directory. */
  isDirectory(path: string): boolean;
  /** The text of the file at `path`, or `undefined` when there is none. Used for package.json. */
  readText(path: string): string | undefined;
}

/** Extensions probed, in order, when a specifier names no existing file. */
export const MODULE_EXTENSIONS: readonly string[] = [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".json"];

/** TypeScript sources by emitted name: `./a.js` may name `./a.ts`. */
const TS_FOR_JS: Readonly<Record<string, string>> = { ".js": ".ts", ".mjs": ".mts", ".cjs": ".cts" };

/**
 * Resolve a module specifier the way Node does, inside a {@link ResolutionView}.
 *
 * @param specifier - as written by the guest (`./a`, `../b.ts`, `/c`, `pkg`, `pkg/sub`, `#internal`).
 * @param fromDir - normalized guest directory the specifier is relative to
 *   (the importing module's directory, or the hooks' `cwd`).
 * @param kind - `import` or `require`; picks the package.json `exports` condition.
 * @param view - the tree.
 * @returns the guest path of the module file, or `undefined` when nothing matches.
 * @throws RestrictedError for NUL bytes, backslashes, URL specifiers, and `..`
 *   that climbs above the guest's `/`.
 */
export function resolveNodeStyle(specifier: string, fromDir: string, kind: ResolveKind, view: ResolutionView): string | undefined {
  assertSafeName(specifier, "module specifier");
  if (specifier === "") return undefined;
  if (hasUrlScheme(specifier)) {
    throw new RestrictedError(`module URL ${JSON.stringify(specifier)} (these hooks load files by path only)`, "import it by a relative or absolute guest path, or load URLs with UrlHooks");
  }
  if (isPathSpecifier(specifier)) {
    const path = resolveGuestPath(fromDir, specifier);
    if (path === undefined) {
      throw new RestrictedError(`module path ${JSON.stringify(specifier)} (it climbs above the hooks' root)`, "keep module paths inside the hooks' root, or add the directory as a root");
    }
    // `./dir/` names a directory only, as in Node.
    if (specifier.endsWith("/") || specifier === "." || specifier === "..") return loadAsDirectory(path, view);
    return loadAsFile(path, view) ?? loadAsDirectory(path, view);
  }
  if (specifier.startsWith("#")) return resolvePackageImports(specifier, fromDir, kind, view);
  return resolvePackage(specifier, fromDir, kind, view);
}

/** `path` itself, then `path` + each extension, then the `.js` → `.ts` fallback. */
function loadAsFile(path: string, view: ResolutionView): string | undefined {
  if (view.isFile(path)) return path;
  for (const ext of MODULE_EXTENSIONS) if (view.isFile(path + ext)) return path + ext;
  const ext = guestExtname(path);
  const ts = TS_FOR_JS[ext];
  if (ts !== undefined) {
    const alt = path.slice(0, -ext.length) + ts;
    if (view.isFile(alt)) return alt;
  }
  return undefined;
}

/** `dir/index` + each extension. */
function loadIndex(dir: string, view: ResolutionView): string | undefined {
  for (const ext of MODULE_EXTENSIONS) {
    const p = guestJoin(dir, "index" + ext);
    if (view.isFile(p)) return p;
  }
  return undefined;
}

/** package.json `main` (as a file, then as a directory index), then `index`. */
function loadAsDirectory(dir: string, view: ResolutionView): string | undefined {
  if (!view.isDirectory(dir)) return undefined;
  const pkg = readPackageJson(dir, view);
  if (pkg && typeof pkg.main === "string" && pkg.main !== "") {
    const main = insidePackage(dir, pkg.main);
    if (main !== undefined) {
      const found = loadAsFile(main, view) ?? loadIndex(main, view);
      if (found !== undefined) return found;
    }
  }
  return loadIndex(dir, view);
}

/** A parsed package.json; only the fields resolution reads are typed. */
interface PackageJson {
  name?: unknown;
  main?: unknown;
  type?: unknown;
  exports?: unknown;
  imports?: unknown;
  [key: string]: unknown;
}

/** Parse `dir/package.json`, or `undefined` when absent. A malformed one is an error, as in Node. */
function readPackageJson(dir: string, view: ResolutionView): PackageJson | undefined {
  const path = guestJoin(dir, "package.json");
  if (!view.isFile(path)) return undefined;
  const text = view.readText(path);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`invalid package.json at ${path}: ${(e as Error).message}`);
  }
  return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as PackageJson) : {};
}

/**
 * Join a package-relative target (`main`, or an `exports` target) to the package
 * directory; `undefined` if it would leave the package. A package must not be
 * able to point its entry at `../../other-package/secret.js`.
 */
function insidePackage(pkgDir: string, target: string): string | undefined {
  if (target.includes("\0") || target.includes("\\") || hasUrlScheme(target)) return undefined;
  const p = normalizeGuestPath(`${pkgDir}/${target.replace(/^\/+/, "")}`);
  if (p === undefined || (p !== pkgDir && !p.startsWith(pkgDir === "/" ? "/" : pkgDir + "/"))) return undefined;
  return p;
}

/** Split `@scope/name/sub` into `@scope/name` and `./sub` (or `.`). */
function splitPackageSpecifier(specifier: string): { name: string; subpath: string } | undefined {
  const parts = specifier.split("/");
  const nameParts = specifier.startsWith("@") ? 2 : 1;
  if (parts.length < nameParts || parts.slice(0, nameParts).some((p) => p === "" || p === "." || p === "..")) return undefined;
  const name = parts.slice(0, nameParts).join("/");
  if (name.startsWith(".") || name.includes("%")) return undefined;
  const rest = parts.slice(nameParts).join("/");
  return { name, subpath: rest === "" ? "." : `./${rest}` };
}

/** Conditions for `exports`/`imports`: exactly `default` plus `import` or `require`. */
function conditionOptions(kind: ResolveKind): { unsafe: true; conditions: string[] } {
  return { unsafe: true, conditions: [kind] };
}

/** Bare specifier: walk up the `node_modules` directories from `fromDir`. */
function resolvePackage(specifier: string, fromDir: string, kind: ResolveKind, view: ResolutionView): string | undefined {
  const parsed = splitPackageSpecifier(specifier);
  if (parsed === undefined) return undefined;
  for (let dir = fromDir; ; dir = guestDirname(dir)) {
    if (guestBasename(dir) !== "node_modules") {
      const pkgDir = guestJoin(guestJoin(dir, "node_modules"), parsed.name);
      if (view.isDirectory(pkgDir)) {
        const found = resolveInPackage(pkgDir, parsed.subpath, kind, view);
        if (found !== undefined) return found;
        // Node stops at the first package directory found, even if the subpath is missing.
        return undefined;
      }
    }
    if (dir === "/") return undefined;
  }
}

/** Resolve `subpath` (`.` or `./x`) inside a package directory. */
function resolveInPackage(pkgDir: string, subpath: string, kind: ResolveKind, view: ResolutionView): string | undefined {
  const pkg = readPackageJson(pkgDir, view);
  if (pkg && pkg.exports !== undefined && pkg.exports !== null) {
    let targets: string[] | void;
    try {
      targets = resolveExports({ ...pkg, name: String(pkg.name ?? "") }, subpath, conditionOptions(kind));
    } catch {
      return undefined; // not exported: Node's ERR_PACKAGE_PATH_NOT_EXPORTED, surfaced as "not found"
    }
    return firstExistingTarget(pkgDir, targets ?? [], view);
  }
  if (subpath === ".") return loadAsDirectory(pkgDir, view);
  const path = insidePackage(pkgDir, subpath);
  if (path === undefined) return undefined;
  return loadAsFile(path, view) ?? loadAsDirectory(path, view);
}

/** `exports`/`imports` targets are exact files (no probing), tried in order. */
function firstExistingTarget(pkgDir: string, targets: readonly string[], view: ResolutionView): string | undefined {
  for (const target of targets) {
    if (!target.startsWith("./")) continue; // exports targets must be package-relative
    const path = insidePackage(pkgDir, target);
    if (path !== undefined && view.isFile(path)) return path;
  }
  return undefined;
}

/** `#name`: the nearest package.json's `imports` field. */
function resolvePackageImports(specifier: string, fromDir: string, kind: ResolveKind, view: ResolutionView): string | undefined {
  const scope = findPackageScope(fromDir, view);
  if (scope === undefined || scope.pkg.imports === undefined) return undefined;
  let targets: string[] | void;
  try {
    targets = resolveImports({ ...scope.pkg, name: String(scope.pkg.name ?? "") }, specifier, conditionOptions(kind));
  } catch {
    return undefined;
  }
  for (const target of targets ?? []) {
    if (target.startsWith("./")) {
      const path = insidePackage(scope.dir, target);
      if (path !== undefined && view.isFile(path)) return path;
    } else if (!target.startsWith("#") && !isPathSpecifier(target) && !hasUrlScheme(target)) {
      // An `imports` target may name another package, resolved from this package.
      const found = resolvePackage(target, scope.dir, kind, view);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The nearest directory at or above `dir` with a package.json, as Node's "package scope". */
function findPackageScope(dir: string, view: ResolutionView): { dir: string; pkg: PackageJson } | undefined {
  for (let d = dir; ; d = guestDirname(d)) {
    // As in Node, a scope lookup never crosses out of a `node_modules/<pkg>` into node_modules itself.
    if (guestBasename(d) === "node_modules") return undefined;
    const pkg = readPackageJson(d, view);
    if (pkg !== undefined) return { dir: d, pkg };
    if (d === "/") return undefined;
  }
}

/** True for `.ts`, `.mts`, `.cts`: the loader must transpile before evaluating. */
export function isTypeScriptPath(path: string): boolean {
  const ext = guestExtname(path);
  return ext === ".ts" || ext === ".mts" || ext === ".cts";
}

/**
 * How Node would evaluate the file at `path`:
 * `.mjs`/`.mts` → `module`; `.cjs`/`.cts` → `commonjs`; `.json` → `json`;
 * `.js`/`.ts` → the nearest package.json `type` (`module` or `commonjs`);
 * anything else, or no `type`, → `undefined` (the loader detects ESM syntax).
 */
export function moduleFormatOf(path: string, view: ResolutionView): ModuleFormat | undefined {
  switch (guestExtname(path)) {
    case ".mjs":
    case ".mts":
      return "module";
    case ".cjs":
    case ".cts":
      return "commonjs";
    case ".json":
      return "json";
    case ".js":
    case ".ts": {
      let scope: { pkg: PackageJson } | undefined;
      try {
        scope = findPackageScope(guestDirname(path), view);
      } catch {
        return undefined; // a broken package.json elsewhere should not stop this file from loading
      }
      const type = scope?.pkg.type;
      return type === "module" ? "module" : type === "commonjs" ? "commonjs" : undefined;
    }
    default:
      return undefined;
  }
}
