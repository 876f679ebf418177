/**
 * The host half of the module loader: turns a specifier into a module the
 * guest can run, asking the {@link RHooks} — never the file system — exactly as
 * the seed describes, and applying the builtin-module policy first.
 *
 * Every module is loaded once per realm: records are cached by canonical id.
 * TypeScript is transpiled here (type errors are not the sandbox's business,
 * syntax errors are), and the source maps are kept so guest stacks show the
 * `.ts` file's own lines.
 *
 * Hooks may be asynchronous (UrlHooks). The engine's module callbacks and
 * `require()` are synchronous, so {@link ModuleLoader.prefetch} walks the
 * static import graph ahead of evaluation; a synchronous request for something
 * not fetched yet (a computed `require`) gets a clear error.
 *
 * Invariant: the module text one realm holds on the host (records and
 * sources fetched ahead) stays under {@link MAX_REALM_MODULE_SOURCE_BYTES}.
 * A guest that may write files it can import can otherwise make the loader
 * read any number of distinct modules, each kept for the realm's lifetime —
 * host heap that `limits.memoryBytes` (the guest's wasm heap) does not cover.
 *
 * @packageDocumentation
 */
import { builtinModules } from "node:module";
import { esbuildApi } from "./esbuild-api.js";
import { ModuleNotFoundError, RestrictedError } from "../host/errors.js";
import { BUILTIN_MODULE_NAMES, builtinSource } from "./builtin-sources.js";
import { cachedPrepared, preparedKey, rememberPrepared } from "./prepared-cache.js";
import { detectModuleSyntax, transpileTypeScript } from "./transpile.js";
import type { LoadedModule, ModuleFormat, RHooks, ResolveKind } from "./types.js";

/** How the guest runtime must treat a resolved module. */
export type RuntimeFormat = ModuleFormat | "builtin";

/** A loaded, transpiled module. */
export interface ModuleRecord {
  readonly id: string;
  readonly format: RuntimeFormat;
  /** JavaScript (or JSON text) ready for the engine. */
  readonly code: string;
  /** Maps a position in `code` to the original source (TypeScript only). */
  readonly mapPosition?: (line: number, column: number) => { line: number; column: number } | undefined;
}

/**
 * Module text one realm may hold on the host, counted in string length (a
 * byte per character for the ASCII text most sources are). A fixed cap, not a
 * multiple of `limits.memoryBytes`: the text lives in the host's heap, whose
 * size has nothing to do with the guest's wasm heap, and a multiple of a
 * limit that may be set to 2 GiB would protect no host. 256 MiB is far above
 * any real program's sources and leaves a default Node heap standing.
 */
export const MAX_REALM_MODULE_SOURCE_BYTES = 256 * 1024 * 1024;

const MiB = 1024 * 1024;

/** Host-held text of a record: its code, plus the original (kept by the source map) when transpiled. */
function recordBytes(record: ModuleRecord, sourceBytes: number): number {
  return record.code.length + (record.mapPosition ? sourceBytes : 0);
}

/** Guest-side modules rexec implements itself rather than bundling a polyfill. */
const NATIVE_BUILTINS = new Set(["fs", "fs/promises"]);
const BUNDLED = new Set<string>(BUILTIN_MODULE_NAMES);
const NODE_BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, "")));

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** Resolves and loads guest modules for one realm. */
export class ModuleLoader {
  private readonly records = new Map<string, ModuleRecord>();
  /** Answers of asynchronous hooks, fetched ahead of synchronous use. */
  private readonly prefetched = new Map<string, string | undefined>();
  private readonly prefetchedLoads = new Map<string, LoadedModule>();
  /** Bytes charged per id in {@link records} or {@link prefetchedLoads} (never both at once). */
  private readonly charged = new Map<string, number>();
  /** Sum of {@link charged}: module text this realm holds on the host. */
  private heldBytes = 0;

  constructor(
    readonly hooks: RHooks,
    private readonly okBuiltinModules: readonly string[],
    private readonly log: (line: string) => void,
  ) {}

  /** The id a bare builtin name maps to, applying the policy; undefined if `specifier` is no builtin. */
  private builtinId(specifier: string): string | undefined {
    const bare = specifier.startsWith("node:") ? specifier.slice(5) : specifier;
    if (!NODE_BUILTINS.has(bare) && !NATIVE_BUILTINS.has(bare)) {
      if (specifier.startsWith("node:")) throw new ModuleNotFoundError(specifier, undefined);
      return undefined;
    }
    const top = bare.split("/")[0]!;
    const allowed = this.okBuiltinModules.includes(bare) || this.okBuiltinModules.includes(top) || this.okBuiltinModules.includes(`node:${bare}`);
    if (!allowed) {
      this.log(`denied: builtin module "${bare}"`);
      throw new RestrictedError(`builtin module "${bare}"`, `add "${bare}" to okBuiltinModules`, `--allow-module ${bare}`);
    }
    if (!BUNDLED.has(bare) && !NATIVE_BUILTINS.has(bare)) {
      throw new ModuleNotFoundError(`node:${bare}`, undefined);
    }
    return `node:${bare}`;
  }

  /**
   * Resolve synchronously (for the engine and `require`). Throws
   * `RestrictedError` for denials and `ModuleNotFoundError` when nothing matches.
   */
  resolveSync(specifier: string, referrer: string | undefined, kind: ResolveKind): { id: string; format: RuntimeFormat } {
    if (specifier.includes("\0")) throw new ModuleNotFoundError(specifier.replace(/\0/g, "\\0"), referrer);
    const builtin = this.builtinId(specifier);
    if (builtin) return { id: builtin, format: "builtin" };
    const key = `${kind}\0${referrer ?? ""}\0${specifier}`;
    let id: string | undefined;
    if (this.prefetched.has(key)) {
      id = this.prefetched.get(key);
    } else {
      const answer = this.hooks.resolve(specifier, referrer, kind);
      if (isPromiseLike(answer)) {
        answer.catch(() => {});
        throw new Error(`module "${specifier}" was not fetched ahead of time; with asynchronous hooks, import modules with static imports or a literal import("…")`);
      }
      id = answer;
    }
    if (id === undefined) throw new ModuleNotFoundError(specifier, referrer);
    return { id, format: this.loadSync(id).format };
  }

  /** Load (and transpile) a resolved id synchronously. */
  loadSync(id: string): ModuleRecord {
    const cached = this.records.get(id);
    if (cached) return cached;
    if (id.startsWith("node:")) {
      const record: ModuleRecord = { id, format: "builtin", code: NATIVE_BUILTINS.has(id.slice(5)) ? "" : builtinSource(id.slice(5)) };
      this.keep(id, record, 0);
      return record;
    }
    let loaded = this.prefetchedLoads.get(id);
    if (!loaded) {
      const answer = this.hooks.load(id);
      if (isPromiseLike(answer)) {
        answer.catch(() => {});
        throw new Error(`module "${id}" was not fetched ahead of time (asynchronous hooks)`);
      }
      loaded = answer;
    }
    const sourceBytes = typeof loaded.source === "string" ? loaded.source.length : 0;
    // Refused before transpiling, so a refused module costs no transpiler time either.
    this.admit(id, sourceBytes - (this.charged.get(id) ?? 0));
    const record = this.prepare(loaded);
    this.keep(id, record, sourceBytes);
    // The record takes over the fetched source's charge (keep() replaced it): one copy counted once.
    this.prefetchedLoads.delete(id);
    return record;
  }

  /** Refuse a module of `bytes` more text when the realm's module-source budget cannot take it. */
  private admit(id: string, bytes: number): void {
    if (this.heldBytes + bytes <= MAX_REALM_MODULE_SOURCE_BYTES) return;
    this.log(`denied: module ${id} (module source limit)`);
    throw new Error(
      `module ${id} (${(bytes / MiB).toFixed(1)} MiB) was not loaded: this sandbox already holds ${(this.heldBytes / MiB).toFixed(1)} MiB of module source, ` +
        `and its module source limit is ${MAX_REALM_MODULE_SOURCE_BYTES / MiB} MiB; the host can unload modules (r_unload) to make room`,
    );
  }

  private keep(id: string, record: ModuleRecord, sourceBytes: number): void {
    const bytes = recordBytes(record, sourceBytes);
    this.admit(id, bytes - (this.charged.get(id) ?? 0));
    this.records.set(id, record);
    this.charge(id, bytes);
  }

  private charge(id: string, bytes: number): void {
    this.release(id);
    this.charged.set(id, bytes);
    this.heldBytes += bytes;
  }

  private release(id: string): void {
    this.heldBytes -= this.charged.get(id) ?? 0;
    this.charged.delete(id);
  }

  /** Module text this realm holds on the host now, in the units of {@link MAX_REALM_MODULE_SOURCE_BYTES}. */
  get moduleSourceBytes(): number {
    return this.heldBytes;
  }

  private prepare(loaded: LoadedModule): ModuleRecord {
    const { id, source } = loaded;
    if (typeof source !== "string") throw new TypeError(`hooks returned no source text for ${id}`);
    if (loaded.format === "json") return { id, format: "json", code: source };
    const key = preparedKey(`${id}\0${loaded.format ?? ""}\0${loaded.typescript}`, source);
    const cached = cachedPrepared<ModuleRecord>(key);
    if (cached) return cached;
    const record = this.transform(loaded);
    rememberPrepared(key, record, recordBytes(record, source.length));
    return record;
  }

  /** Transpile TypeScript and settle the format of an ambiguous `.js` file. */
  private transform(loaded: LoadedModule): ModuleRecord {
    const { id, source } = loaded;
    let format = loaded.format === "json" ? undefined : loaded.format;
    if (loaded.typescript) {
      const transpiled = transpileTypeScript(source, id, format);
      const code = transpiled.code;
      format ??= detectModuleSyntax(code) ? "module" : "commonjs";
      return { id, format, code, mapPosition: transpiled.mapPosition };
    }
    format ??= detectModuleSyntax(source) ? "module" : "commonjs";
    return { id, format, code: source };
  }

  /** Whether `id` was resolved and loaded already (or fetched ahead of time) in this realm. */
  isLoaded(id: string): boolean {
    return this.records.has(id) || this.prefetchedLoads.has(id);
  }

  /** Forget a module so the next load reads it again through the hooks. */
  forget(id: string): void {
    this.records.delete(id);
    this.prefetchedLoads.delete(id);
    this.release(id);
  }

  /** Map a guest stack position in module `id` back to its source, when it was transpiled. */
  mapPosition(id: string, line: number, column: number): { line: number; column: number } | undefined {
    return this.records.get(id)?.mapPosition?.(line, column);
  }

  /**
   * Walk the static import graph from `specifier` through the hooks (awaiting
   * asynchronous ones), so synchronous loading later finds everything. A no-op
   * cost for synchronous hooks beyond resolving the entry.
   */
  async prefetch(specifier: string, referrer: string | undefined, kind: ResolveKind): Promise<void> {
    const queue: Array<[string, string | undefined, ResolveKind]> = [[specifier, referrer, kind]];
    const visited = new Set<string>();
    while (queue.length > 0) {
      const [spec, from, how] = queue.shift()!;
      const key = `${how}\0${from ?? ""}\0${spec}`;
      if (visited.has(key)) continue;
      visited.add(key);
      if (spec.includes("\0")) throw new ModuleNotFoundError(spec.replace(/\0/g, "\\0"), from);
      if (this.builtinId(spec)) continue;
      const answer = this.hooks.resolve(spec, from, how);
      if (!isPromiseLike(answer)) return; // synchronous hooks: the engine resolves on demand
      const id = await answer;
      this.prefetched.set(key, id);
      if (id === undefined) throw new ModuleNotFoundError(spec, from);
      if (this.records.has(id) || this.prefetchedLoads.has(id)) continue;
      const loaded = await this.hooks.load(id);
      if (typeof loaded.source === "string") {
        this.admit(id, loaded.source.length);
        this.charge(id, loaded.source.length);
      }
      this.prefetchedLoads.set(id, loaded);
      if (loaded.format === "json") continue;
      for (const dep of await scanImports(loaded)) queue.push([dep.specifier, id, dep.kind]);
    }
  }
}

/** The literal import/require specifiers of a module, found by esbuild's parser. */
async function scanImports(loaded: LoadedModule): Promise<Array<{ specifier: string; kind: ResolveKind }>> {
  const found: Array<{ specifier: string; kind: ResolveKind }> = [];
  try {
    await esbuildApi().build({
      stdin: { contents: loaded.source, loader: loaded.typescript ? "ts" : "js", sourcefile: "scan" },
      bundle: true,
      write: false,
      logLevel: "silent",
      plugins: [
        {
          name: "rexec-scan",
          setup(b) {
            b.onResolve({ filter: /.*/ }, (args) => {
              if (args.kind !== "entry-point") found.push({ specifier: args.path, kind: args.kind === "require-call" || args.kind === "require-resolve" ? "require" : "import" });
              return { path: args.path, external: true };
            });
          },
        },
      ],
    });
  } catch {
    // A syntax error is reported with its position when the module is evaluated.
  }
  return found;
}
