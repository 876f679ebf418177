/**
 * {@link HostPathHooks}: the guest sees host paths as themselves (Deno's model,
 * used by the `rexec` CLI): `./data/x.txt` and `/abs/data/x.txt` name the real
 * files, the guest's working directory is the real one, and only the paths the
 * host granted ({@link PathGrants}) can be read, written or imported.
 *
 * Invariant: no guest file operation and no module load touches a host path
 * that is not granted for that mode, judged on the *canonical* path (symlinks
 * resolved), and denials win over grants. The path work — symlinks, `..`, NUL,
 * backslashes, long names, FIFOs, descriptor verification against swaps — is
 * {@link RootJail}'s, here over the single root `/`, so ids equal host paths.
 * A path the guest names but was not granted in any mode is never resolved
 * (canonicalPath hands it back as written and the grant check refuses it), so
 * a refusal cannot reveal whether it exists or where its symlinks lead.
 *
 * Why a new class rather than a FileSystemHooks option: FileSystemHooks' whole
 * contract is *virtual* roots that hide host paths from the guest; this one
 * deliberately shows them. Keeping the two apart means neither mode can leak
 * into the other through a forgotten branch.
 *
 * @packageDocumentation
 */

import { RestrictedError } from "../../host/errors.js";
import { guestBasename, guestDirname, guestJoin, hasUrlScheme, isPathSpecifier, resolveGuestPath } from "../guest-path.js";
import { isTypeScriptPath, moduleFormatOf, resolveNodeStyle, type ResolutionView } from "../node-resolution.js";
import type { HookFileSystem, LoadedModule, ResolveKind, RHooks } from "../types.js";
import { canonicalHostPath, isAtOrBelow, PathGrants } from "./path-grants.js";
import { RootJail } from "./root-jail.js";

/** Options of {@link HostPathHooks}. */
export interface HostPathHooksOptions {
  /** Which host paths the guest may read and write. */
  readonly grants: PathGrants;
  /** The guest's working directory, a real host directory (default `process.cwd()`). */
  readonly cwd?: string;
  /**
   * Directories modules may be imported from without a read grant (the CLI: the
   * script's directory, as Deno lets a script import local modules). Denials
   * still apply.
   */
  readonly moduleDirs?: readonly string[];
  /**
   * Where `http:`/`https:` modules come from (e.g. a {@link UrlHooks}); without
   * it, a URL import is refused naming `importFlag`.
   */
  readonly remote?: RHooks;
  /** The flag named when a URL import is refused (default `--allow-import`). */
  readonly importFlag?: (origin: string) => string;
  /** Largest file read (module source or `fs` read), in bytes. Default 64 MiB. */
  readonly maxFileBytes?: number;
}

const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
const decoder = new TextDecoder();

function decodeSource(data: Uint8Array): string {
  const text = decoder.decode(data);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function isUrl(text: string | undefined): boolean {
  return text !== undefined && /^https?:\/\//i.test(text);
}

/** Hooks over the host's own paths, limited by {@link PathGrants}. */
export class HostPathHooks implements RHooks {
  /** The real working directory. */
  readonly cwd: string;
  /** File access for the guest's `fs`, every call checked against the grants. */
  readonly fs: HookFileSystem;
  /** The grants in force. */
  readonly grants: PathGrants;

  readonly #jail: RootJail;
  readonly #moduleDirs: readonly string[];
  readonly #remote: RHooks | undefined;
  readonly #importFlag: (origin: string) => string;
  readonly #maxBytes: number;
  readonly #view: ResolutionView;

  constructor(options: HostPathHooksOptions) {
    if (options === null || typeof options !== "object" || !(options.grants instanceof PathGrants)) {
      throw new TypeError("HostPathHooks: options { grants } are required");
    }
    this.grants = options.grants;
    this.cwd = canonicalHostPath(options.cwd ?? process.cwd());
    this.#jail = new RootJail("/");
    this.#moduleDirs = (options.moduleDirs ?? []).map((d) => canonicalHostPath(d));
    this.#remote = options.remote;
    this.#importFlag = options.importFlag ?? ((origin) => `--allow-import=${origin}`);
    this.#maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (!(this.#maxBytes > 0)) throw new TypeError("HostPathHooks: maxFileBytes must be a positive number");
    const importable = (p: string) => this.#importable(p);
    this.#view = {
      isFile: (p) => importable(p) && this.#jail.kind(p) === "file",
      isDirectory: (p) => importable(p) && this.#jail.kind(p) === "directory",
      readText: (p) => {
        if (!importable(p)) return undefined;
        try {
          return decodeSource(this.#jail.readFile(p, this.#maxBytes));
        } catch {
          return undefined;
        }
      },
    };
    this.fs = this.#makeFs();
  }

  /** The refusal of an import of `p`: the grants' own when a denial (or a rule of theirs) forbids it, else --allow-read=p. */
  #importRefusal(p: string): RestrictedError {
    try {
      this.grants.check(this.#jail.locate(p)?.virtual ?? p, "r");
    } catch (error) {
      if (error instanceof RestrictedError && !error.flag?.startsWith("--allow-read=")) {
        const why = /\((denied by [^]*)\)$/.exec(error.denied)?.[0];
        return new RestrictedError(`import of ${p}${why ? ` ${why}` : ""}`, error.allowWith, error.flag);
      }
    }
    return new RestrictedError(`import of ${p}`, `rerun with --allow-read=${p}`, `--allow-read=${p}`);
  }

  /** May a module at canonical path `p` be loaded? (read grant, or a module dir; denials win). */
  #importable(p: string): boolean {
    const canonical = this.#jail.locate(p)?.virtual ?? p;
    if (this.grants.allows(canonical, "r")) return true;
    if (!this.#moduleDirs.some((d) => isAtOrBelow(d, canonical))) return false;
    // A denial still wins over the module directories.
    try {
      this.grants.check(canonical, "r");
    } catch (error) {
      if (error instanceof RestrictedError && error.denied.includes("(denied by")) return false;
    }
    return true;
  }

  /**
   * {@inheritDoc RHooks.resolve}
   *
   * With `remote`, every answer is a promise: the loader then walks the whole
   * static import graph ahead of time (it stops at the first synchronous
   * answer), so a local file's literal `import("https://…")` is fetched before
   * the engine needs it. The price: a non-literal `require(x)`/`import(x)` in
   * local code cannot be resolved on demand while `remote` is set.
   */
  resolve(specifier: string, referrer: string | undefined, kind: ResolveKind): string | undefined | Promise<string | undefined> {
    if (this.#remote === undefined) return this.#resolve(specifier, referrer, kind);
    try {
      return Promise.resolve(this.#resolve(specifier, referrer, kind));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #resolve(specifier: string, referrer: string | undefined, kind: ResolveKind): string | undefined | Promise<string | undefined> {
    if (isUrl(specifier) || (isUrl(referrer) && !hasUrlScheme(specifier))) {
      if (this.#remote === undefined) {
        let origin = "<origin>";
        try {
          origin = new URL(specifier, isUrl(referrer) ? referrer : undefined).origin;
        } catch {
          // keep the placeholder
        }
        throw new RestrictedError(`import of ${specifier}`, `rerun with ${this.#importFlag(origin)}`, this.#importFlag(origin));
      }
      return this.#remote.resolve(specifier, referrer, kind);
    }
    const fromDir = referrer !== undefined && referrer.startsWith("/") && !referrer.includes("\0")
      ? guestDirname(resolveGuestPath("/", referrer) ?? this.cwd)
      : this.cwd;
    if (typeof specifier === "string" && isPathSpecifier(specifier) && !specifier.includes("\0")) {
      const lexical = resolveGuestPath(fromDir, specifier);
      const refused = lexical === undefined ? undefined : this.#refusedImport(lexical);
      if (refused !== undefined) throw this.#importRefusal(refused);
    }
    const found = resolveNodeStyle(specifier, fromDir, kind, this.#view);
    return found === undefined ? undefined : this.#jail.locate(found)?.virtual;
  }

  /**
   * The path to name in a refusal when `lexical` (or the file extension probing
   * finds for it, `./x` → `./x.js`) may not be imported; `undefined` to go on
   * resolving. Only an *importable* path is ever tested for existence, so a
   * refusal says nothing about whether an ungranted path exists.
   */
  #refusedImport(lexical: string): string | undefined {
    const exists = (p: string) => this.#jail.kind(p) !== undefined;
    const variants = [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".json"].map((ext) => lexical + ext);
    if (!this.#importable(lexical)) return variants.some((v) => this.#importable(v) && exists(v)) ? undefined : lexical;
    if (exists(lexical)) return undefined;
    // Importable when missing (inside a module dir): a variant that exists must be importable too.
    return variants.find((v) => exists(v) && !this.#importable(v));
  }

  /** {@inheritDoc RHooks.load} */
  load(id: string): LoadedModule | Promise<LoadedModule> {
    if (isUrl(id)) {
      if (this.#remote === undefined) throw new RestrictedError(`import of ${id}`, `rerun with ${this.#importFlag(new URL(id).origin)}`, this.#importFlag(new URL(id).origin));
      return this.#remote.load(id);
    }
    if (!this.#importable(id)) throw this.#importRefusal(id);
    const source = decodeSource(this.#jail.readFile(id, this.#maxBytes));
    return { id, source, format: moduleFormatOf(id, this.#view), typescript: isTypeScriptPath(id) };
  }

  #makeFs(): HookFileSystem {
    const jail = this.#jail;
    const grants = this.grants;
    const maxBytes = this.#maxBytes;
    return {
      canonicalPath(guestPath: string, cwd: string): string | undefined {
        if (typeof guestPath !== "string" || guestPath.includes("\0") || guestPath.includes("\\")) return undefined;
        const path = resolveGuestPath(resolveGuestPath("/", cwd) ?? "/", guestPath);
        if (path === undefined) return undefined;
        // Granted in no mode, as written or resolved: hand it back as written (see the module comment).
        if (!grants.allowsAny(path) && !grants.allowsAny(canonicalHostPath(path))) return path;
        const loc = jail.locate(path);
        if (loc !== undefined) return loc.virtual;
        // A dangling symlink (or one leading nowhere): never a write target.
        if (jail.existsLexically(path)) return undefined;
        // Missing: the deepest existing ancestor, canonical, plus the missing rest.
        // Writing there fails with ENOENT when the parent is missing, as on disk.
        const rest: string[] = [];
        let head = path;
        for (;;) {
          rest.push(guestBasename(head));
          head = guestDirname(head);
          const found = jail.locate(head);
          if (found !== undefined) return rest.reverse().reduce((dir, name) => guestJoin(dir, name), found.virtual);
          if (jail.existsLexically(head)) return undefined;
          if (head === "/") return undefined;
        }
      },
      readFile: (path) => {
        grants.check(path, "r");
        return jail.readFile(path, maxBytes);
      },
      writeFile: (path, data, append) => {
        grants.check(path, "w");
        jail.writeFile(path, data, append);
      },
      readdir: (path) => {
        grants.check(path, "r");
        return jail.readdir(path);
      },
      stat: (path) => {
        grants.check(path, "r");
        return jail.stat(path);
      },
      mkdir: (path) => {
        grants.check(path, "w");
        jail.mkdir(path);
      },
      unlink: (path) => {
        grants.check(path, "w");
        jail.unlink(path);
      },
    };
  }
}
