/**
 * The contract between the loader and where modules come from.
 *
 * As in the seed: "whenever the rexec module searches for a module or reads a
 * module's code, it doesn't actually go out to the file system itself. Rather,
 * it calls methods of an RHooks instance." The loader only ever calls these
 * methods; it never opens a file or a socket itself.
 *
 * @packageDocumentation
 */

/** How the loader must evaluate a module's source. */
export type ModuleFormat = "module" | "commonjs" | "json";

/** A module's source as returned by {@link RHooks.load}. */
export interface LoadedModule {
  /** The canonical id that was loaded (echoed back). */
  readonly id: string;
  /** Source text. TypeScript is returned untranspiled; the loader transpiles it. */
  readonly source: string;
  /**
   * `module` (ESM), `commonjs` or `json`. `undefined` lets the loader detect
   * ESM syntax the way Node 22 does for ambiguous `.js` files.
   */
  readonly format: ModuleFormat | undefined;
  /** True for `.ts`, `.mts`, `.cts`: the loader transpiles before evaluating. */
  readonly typescript: boolean;
}

/** Conditions used for package.json `exports`: ESM imports use `import`, `require()` uses `require`. */
export type ResolveKind = "import" | "require";

/**
 * A file-system view exposed by hooks that have one, used by the guest's `fs`
 * module. Every path here is a canonical id returned by {@link RHooks.canonicalPath};
 * the policy (`RExec.r_open`) has already approved the access before these run.
 */
export interface HookFileSystem {
  /**
   * Turn a guest path (absolute in the guest's view, or relative to `cwd`) into a
   * canonical absolute path inside the roots, with `..` and symlinks resolved.
   * Returns `undefined` when the path lies outside every root (or escapes one via a
   * symlink). For a path that does not exist yet (a write), the parent must exist
   * and be inside a root.
   */
  canonicalPath(guestPath: string, cwd: string): string | undefined;
  readFile(path: string): Uint8Array;
  writeFile(path: string, data: Uint8Array, append: boolean): void;
  readdir(path: string): string[];
  stat(path: string): { kind: "file" | "directory"; size: number; mtimeMs: number } | undefined;
  mkdir(path: string): void;
  unlink(path: string): void;
}

/**
 * Where guest modules come from. Implement this to load modules from anywhere
 * (a database, an RPC server…); rexec ships {@link FileSystemHooks},
 * {@link MemoryHooks} and {@link UrlHooks}.
 *
 * Ids are canonical: two specifiers naming the same module must resolve to the
 * same id, because a realm loads each id once.
 */
export interface RHooks {
  /**
   * Resolve `specifier` as imported by the module `referrer` (a canonical id), or
   * by the hooks' root when `referrer` is `undefined`. Returns the canonical id, or
   * `undefined` when nothing matches ("module not found"). Throws
   * `RestrictedError` when the specifier tries to leave what the hooks allow
   * (another root, another origin…). Bare names of builtin modules are handled by
   * the loader before this is called.
   */
  resolve(specifier: string, referrer: string | undefined, kind: ResolveKind): string | undefined | Promise<string | undefined>;
  /** Load a canonical id returned by `resolve`. */
  load(id: string): LoadedModule | Promise<LoadedModule>;
  /** The directory ids a guest sees as its working directory (the first root). */
  readonly cwd: string;
  /** A file-system view for the guest's `fs`, when these hooks have one. */
  readonly fs?: HookFileSystem;
}
