/**
 * Wires the loader into a realm: the guest module runtime (guest require, the
 * module cache, `fs`), the engine's ESM callbacks, and the guest's file access
 * — each request decided on the host by the {@link ModuleLoader} (hooks and
 * builtin policy) and the `r_open` gate.
 *
 * Denials and not-found errors reach the guest as plain guest errors (it may
 * catch them); the host error is remembered for the call, so when the guest
 * does not catch it the host sees the original `RestrictedError` or
 * `ModuleNotFoundError`, not a copy made from guest data.
 *
 * @packageDocumentation
 */
import { MAX_GUEST_NAME } from "../loader/guest-path.js";
import { readFileSync } from "node:fs";
import type { Engine, GuestRef } from "../engine/engine.js";
import { GuestThrow } from "../engine/engine.js";
import type { GuestRealm } from "../boundary/realm.js";
import { ModuleLoader, type RuntimeFormat } from "../loader/module-loader.js";
import type { RHooks } from "../loader/types.js";
import { GuestError, ModuleNotFoundError, RestrictedError, RExecError } from "./errors.js";

const RUNTIME_SOURCE = readFileSync(new URL("../loader/guest/modules.js", import.meta.url), "utf8");
const RUNTIME_METHODS = ["load", "prepareEsmView", "forget", "defineGlobalRequire"] as const;
/** The guest module runtime, for a realm's set-up to install up front (then it is part of the realm image). */
export const MODULE_RUNTIME = { source: RUNTIME_SOURCE, fileName: "<rexec:modules>", methods: RUNTIME_METHODS } as const;
/** File names of code rexec itself evaluates; imports from them resolve from the root. */
const INTERNAL_PREFIX = "<rexec:";
/** Placeholder module names for failed resolutions (see install()). */
const FAILED_PREFIX = "<rexec:unresolved ";

import type { OpenGate, OpenMode } from "./open-mode.js";

export type { OpenGate, OpenMode };

type RuntimeRefs = Record<(typeof RUNTIME_METHODS)[number], GuestRef>;

/** How many host errors of one call {@link ModuleHost} keeps to give back their originals. */
const MAX_REMEMBERED_ERRORS = 32;

/** One realm's module system. */
export class ModuleHost {
  readonly loader: ModuleLoader;
  private runtime: RuntimeRefs | undefined;
  /** Host errors raised for the guest during the current call. */
  private raised: RExecError[] = [];
  /** Reload generation per id: an ESM module can't be re-evaluated, so a reload gets a new engine name. */
  private readonly generations = new Map<string, number>();
  /**
   * > 0 while a CommonJS module runs inside the engine's module-load callback
   * (the ESM view of a CommonJS module). The engine is then in the middle of
   * loading an import graph, and evaluating a module it has already been handed
   * (a `require()` of an ESM module that is part of that graph) crashes it.
   */
  private esmLoadDepth = 0;
  /** Engine names of ES modules whose source the engine has been given. */
  private readonly servedEsm = new Set<string>();
  /** Placeholder name → message of a resolution that failed, thrown when the engine loads it. */
  private readonly failedResolutions = new Map<string, string>();
  private failedCount = 0;
  /** Length of the CommonJS wrapper header on line 1, per id. */
  private readonly firstLineShift = new Map<string, number>();
  /** Ids to drop from the guest's CommonJS cache at the start of the next call. */
  private readonly pendingForget: string[] = [];
  /**
   * What the engine compiled for each id's current engine name (for error
   * reports, see {@link compiledSource}): the code is the loader record's own
   * string, so this holds no copy and the loader's module-source budget
   * covers it; one entry per id, replaced on reload and dropped on unload
   * (so the text is released with the record).
   */
  private readonly compiled = new Map<string, { name: string; header: string; code: string; serial: number }>();
  private compileCount = 0;

  constructor(
    private readonly realm: GuestRealm,
    readonly hooks: RHooks,
    okBuiltinModules: readonly string[],
    private readonly gate: OpenGate,
    private readonly log: (line: string) => void,
  ) {
    this.loader = new ModuleLoader(hooks, okBuiltinModules, log);
  }

  /**
   * Install the engine's ESM callbacks. The guest runtime itself is installed
   * on first use ({@link runtimeFor}): many sandboxes never load a module, and
   * parsing the runtime is a noticeable part of a sandbox's start-up.
   */
  install(): void {
    this.realm.setModuleLoader({
      // The engine drops an error thrown by normalize (it goes on to load the
      // module named "" instead), so a failed resolution returns a placeholder
      // name whose load throws the error: the import still fails at link time,
      // with the real message.
      normalize: (referrer, specifier) => {
        try {
          return this.guarded(() => {
            // rexec's own stubs import by engine name, already resolved: after a reload that is `id#N`,
            // which no hook resolves, and with asynchronous hooks the id itself was never prefetched as a specifier.
            if (referrer.startsWith(INTERNAL_PREFIX) && this.engineName(this.idOf(specifier)) === specifier && this.loader.isLoaded(this.idOf(specifier))) {
              return specifier;
            }
            return this.engineName(this.resolve(specifier, referrer, "import").id);
          });
        } catch (message) {
          if (typeof message !== "string") throw message;
          const name = `${FAILED_PREFIX}${++this.failedCount}>`;
          this.failedResolutions.set(name, message);
          return name;
        }
      },
      load: (name) => {
        const failed = this.failedResolutions.get(name);
        if (failed !== undefined) {
          this.failedResolutions.delete(name);
          throw failed;
        }
        return this.guarded(() => this.esmSource(this.idOf(name)));
      },
    });
  }

  /** Use the runtime the realm's set-up installed (refs of {@link MODULE_RUNTIME}'s methods). */
  adoptRuntime(refs: Record<string, GuestRef>): void {
    if (RUNTIME_METHODS.every((name) => refs[name] !== undefined)) this.runtime ??= refs as RuntimeRefs;
  }

  /** The runtime's native (for a set-up that installs {@link MODULE_RUNTIME}). */
  runtimeNative(engine: Engine, args: readonly GuestRef[]): GuestRef | undefined {
    return this.native(engine, args);
  }

  /** The guest runtime's entry points, installed into the realm the first time they are needed. */
  private runtimeFor(engine: Engine): RuntimeRefs {
    this.runtime ??= this.realm.installRawNow(engine, RUNTIME_SOURCE, "<rexec:modules>", (e, args) => this.native(e, args), RUNTIME_METHODS) as RuntimeRefs;
    return this.runtime;
  }

  /**
   * Give eval code a global `require` (as Node's REPL has), resolving from the
   * hooks' cwd through the same loader and policy as a module's `require`.
   * Installed on first need; a `require` the guest defined itself is kept.
   */
  defineGlobalRequire(engine: Engine): void {
    if (this.globalRequire) return;
    this.realm.track(engine.call(this.runtimeFor(engine).defineGlobalRequire, null, []));
    this.globalRequire = true;
  }

  private globalRequire = false;

  /**
   * The exports of builtin module `name` exactly as the guest's `require(name)`
   * gives them (same module cache), inside a call: the global `Buffer` is the
   * `buffer` module's. Throws RestrictedError when the policy denies it.
   */
  requireBuiltin(engine: Engine, name: string): GuestRef {
    const { id, format } = this.resolve(name, undefined, "require");
    const runtime = this.runtimeFor(engine);
    return this.realm.track(engine.call(runtime.load, null, [this.realm.track(engine.newString(id)), this.realm.track(engine.newString(format))]));
  }

  /** Start of a call: forget the error record and apply pending unloads. */
  beginCall(engine: Engine): void {
    this.raised = [];
    while (this.pendingForget.length > 0) {
      const id = this.pendingForget.pop()!;
      if (this.runtime) engine.call(this.runtime.forget, null, [this.realm.track(engine.newString(id))]);
    }
  }

  /** If `error` is the guest's copy of a host error raised in this call, return the host original. */
  original(error: unknown): unknown {
    if (!(error instanceof GuestError)) return error;
    const match = this.raised.find((e) => e.message === error.message);
    if (!match) return error;
    if ((match instanceof RestrictedError || match instanceof ModuleNotFoundError) && match.frames.length === 0) match.frames = error.frames;
    return match;
  }

  private raise(error: RExecError): never {
    this.remember(error);
    throw error;
  }

  /**
   * Keep a host error for {@link original}. Bounded: a guest can make the
   * loader fail as often as its budget allows (a flood of failed imports of
   * huge specifiers once held gigabytes until the next call), so only the
   * most recent errors are kept — the one a call ends with is among them.
   */
  private remember(error: RExecError): void {
    if (this.raised.length >= MAX_REMEMBERED_ERRORS) this.raised.shift();
    this.raised.push(error);
  }

  /** Run a loader step for the engine: failures become the message string the engine throws. */
  private guarded(step: () => string): string {
    try {
      return step();
    } catch (error) {
      if (error instanceof RExecError) {
        this.remember(error);
        throw error.message;
      }
      if (error instanceof GuestThrow) throw error;
      throw error instanceof Error ? error.message : "module could not be loaded";
    }
  }

  /** Resolve from `referrer` (an engine name, an id, or internal code = the root). */
  resolve(specifier: string, referrer: string | undefined, kind: "import" | "require"): { id: string; format: RuntimeFormat } {
    const from = referrer === undefined || referrer.startsWith(INTERNAL_PREFIX) ? undefined : this.idOf(referrer);
    return this.loader.resolveSync(specifier, from, kind);
  }

  /** The engine's module name for an id: the id itself, plus `#N` after the N-th reload. */
  engineName(id: string): string {
    const generation = this.generations.get(id) ?? 0;
    return generation === 0 ? id : `${id}#${generation}`;
  }

  private idOf(name: string): string {
    const hash = name.lastIndexOf("#");
    return hash > 0 && /^#\d+$/.test(name.slice(hash)) ? name.slice(0, hash) : name;
  }

  /** ESM source for the engine: the module itself, or an ESM view of a CommonJS/JSON/builtin module. */
  private esmSource(id: string): string {
    const record = this.loader.loadSync(id);
    if (record.format === "module") {
      this.servedEsm.add(this.engineName(id));
      this.noteCompiled(id, "", record.code);
      return record.code;
    }
    const engine = this.realm.engineForCall();
    let names: GuestRef;
    this.esmLoadDepth++;
    try {
      names = engine.call(this.runtimeFor(engine).prepareEsmView, null, [
        this.realm.track(engine.newString(id)),
        this.realm.track(engine.newString(record.format)),
      ]);
    } finally {
      this.esmLoadDepth--;
    }
    const list = JSON.parse(engine.getString(this.realm.track(names))) as string[];
    const named = list.filter((n) => n !== "default");
    const quoted = JSON.stringify(id);
    return `const m = __rexecModule(${quoted});\nexport default m;\n${named.length ? `export const { ${named.join(", ")} } = m;\n` : ""}`;
  }

  /** The runtime's native: resolve, compile, importSync, fs. */
  private native(engine: Engine, args: readonly GuestRef[]): GuestRef | undefined {
    const str = (i: number): string => {
      const ref = args[i];
      if (ref === undefined || engine.typeOf(ref) !== "string") throw this.realm.throwable(engine, "TypeError", "bad loader call");
      return engine.getString(ref);
    };
    const op = str(0);
    try {
      switch (op) {
        case "resolve": {
          const { id, format } = this.resolve(str(1), str(2), str(3) === "import" ? "import" : "require");
          return this.realm.copyInto(engine, [id, format]);
        }
        case "compile":
          return this.compile(engine, str(1));
        case "importSync": {
          const id = str(1);
          if (this.esmLoadDepth > 0 && this.servedEsm.has(this.engineName(id))) {
            // Conservative: the module may be mid-load in the graph being imported right now.
            throw this.realm.throwable(engine, "Error", `require() of ES module ${id} while ES modules are being loaded (an import cycle through CommonJS); use import() instead`);
          }
          const stub = `import * as ns from ${JSON.stringify(this.engineName(id))};\n__rexecStash(ns);\n`;
          const result = this.realm.track(engine.evalModule(stub, `<rexec:require ${id}>`));
          const state = engine.promiseState(result);
          if (state.state === "rejected") throw new GuestThrow(state.value);
          if (state.state === "fulfilled") this.realm.track(state.value);
          return undefined;
        }
        case "fs":
          return this.fileOp(engine, str(1), str(2), args[3]);
        default:
          throw this.realm.throwable(engine, "TypeError", "bad loader call");
      }
    } catch (error) {
      if (error instanceof GuestThrow) throw error;
      if (error instanceof RExecError) {
        this.remember(error);
        throw this.realm.throwable(engine, error.name, error.message);
      }
      // Transpile syntax errors and similar: a plain guest error with our message.
      throw this.realm.throwable(engine, error instanceof SyntaxError ? "SyntaxError" : "Error", error instanceof Error ? error.message : String(error));
    }
  }

  private compile(engine: Engine, id: string): GuestRef {
    const record = this.loader.loadSync(id);
    if (record.format === "json") {
      let value: unknown;
      try {
        value = JSON.parse(record.code);
      } catch (error) {
        throw new SyntaxError(`${id}: ${(error as Error).message}`);
      }
      return this.realm.copyInto(engine, value);
    }
    // The wrapper's header shares the module's first line, so line numbers in stacks stay the file's own.
    const header = record.format === "builtin" ? "(function (module, exports, require) {" : "(function (exports, require, module, __filename, __dirname) {";
    this.firstLineShift.set(id, header.length);
    // A shebang line is legal only at the very start of a script: inside the wrapper it is
    // a syntax error, so it becomes a comment of the same length (node strips it too).
    const code = record.code.startsWith("#!") ? `//${record.code.slice(2)}` : record.code;
    this.noteCompiled(id, header, code);
    return engine.evalScript(`${header}${code}\n})`, this.engineName(id));
  }

  private noteCompiled(id: string, header: string, code: string): void {
    this.compiled.set(id, { name: this.engineName(id), header, code, serial: ++this.compileCount });
  }

  /** How many module sources the engine has been given so far: compare with {@link compiledSource}'s `serial`. */
  get compileSerial(): number {
    return this.compileCount;
  }

  /**
   * Exactly the text the engine compiled under engine name `name` (a stack
   * frame's file name): an ES module's code, or a CommonJS module wrapped as
   * {@link compile} wrapped it; TypeScript as transpiled. `serial` orders it
   * against {@link compileSerial}. `undefined` when no module of that name was
   * compiled, or another generation of it was compiled since (the old
   * instance's text is not kept).
   */
  compiledSource(name: string): { source: string; serial: number } | undefined {
    const entry = this.compiled.get(this.idOf(name));
    if (!entry || entry.name !== name) return undefined;
    return { source: entry.header === "" ? entry.code : `${entry.header}${entry.code}\n})`, serial: entry.serial };
  }

  /** One guest file operation: canonicalise, ask r_open, then act through the hooks' fs. */
  private fileOp(engine: Engine, op: string, guestPath: string, argRef: GuestRef | undefined): GuestRef {
    const fs = this.hooks.fs;
    const fail = (code: string, message: string) => this.realm.copyInto(engine, [false, { code, message, syscall: op }]);
    if (!fs) {
      return this.raise(new RestrictedError(`file access (${op} ${guestPath}): these hooks have no file system`, "use FileSystemHooks or MemoryHooks"));
    }
    if (guestPath.includes("\0")) return fail("ERR_INVALID_ARG_VALUE", "paths must not contain NUL bytes");
    // Host path work (normalising, joining with a root) costs time in the path's length, uncharged to the guest.
    if (guestPath.length > MAX_GUEST_NAME) return fail("ENAMETOOLONG", `name too long (${guestPath.length} characters; the limit is ${MAX_GUEST_NAME}, as PATH_MAX)`);
    const mode: OpenMode = op === "writeFile" || op === "mkdir" || op === "unlink" ? "w" : op === "appendFile" ? "a" : "r";
    const path = fs.canonicalPath(guestPath, this.hooks.cwd);
    if (path === undefined) {
      this.log(`denied: ${op} ${guestPath} (outside the allowed roots)`);
      return this.raise(new RestrictedError(`${mode === "r" ? "read of" : "write to"} ${guestPath} (outside the allowed roots)`, "give the guest a path inside the hooks' roots", mode === "r" ? "--allow-read <dir>" : "--allow-write <dir>"));
    }
    this.gate(path, mode);
    const arg = argRef === undefined ? undefined : engine.typeOf(argRef) === "string" ? engine.getString(argRef) : engine.typeOf(argRef) === "boolean" ? engine.getNumber(argRef) === 1 : argRef;
    try {
      switch (op) {
        case "readFile": {
          const bytes = fs.readFile(path);
          if (typeof arg === "string") return this.realm.copyInto(engine, [true, Buffer.from(bytes).toString(arg as BufferEncoding)]);
          return this.realm.copyInto(engine, [true, bytes]);
        }
        case "writeFile":
        case "appendFile": {
          const data = typeof arg === "string" ? Buffer.from(arg) : argRef !== undefined && engine.typeOf(argRef) === "object" ? engine.getArrayBuffer(argRef) : new Uint8Array();
          fs.writeFile(path, data, op === "appendFile");
          return this.realm.copyInto(engine, [true, undefined]);
        }
        case "exists":
          return this.realm.copyInto(engine, [true, fs.stat(path) !== undefined]);
        case "readdir":
          return this.realm.copyInto(engine, [true, fs.readdir(path)]);
        case "stat": {
          const st = fs.stat(path);
          if (!st) return fail("ENOENT", `ENOENT: no such file or directory, stat '${guestPath}'`);
          return this.realm.copyInto(engine, [true, st]);
        }
        case "mkdir": {
          if (arg !== true) {
            fs.mkdir(path);
            return this.realm.copyInto(engine, [true, undefined]);
          }
          // { recursive: true }: the missing parents too, each through the write gate, made
          // top-down as node does (no stat: write access alone must do). An existing directory is
          // no error. The path is at most MAX_GUEST_NAME long, so is the recursion.
          const make = (dir: string): void => {
            if (dir !== path) this.gate(dir, "w");
            try {
              fs.mkdir(dir);
            } catch (error) {
              const code = (error as { code?: unknown }).code;
              if (code === "EEXIST") {
                let kind: string | undefined = "directory";
                try { kind = fs.stat(dir)?.kind; } catch { /* unreadable: taken as the directory it most likely is */ }
                if (kind === "directory") return;
              }
              const up = dir.slice(0, dir.lastIndexOf("/")) || "/";
              if (code !== "ENOENT" || up === dir) throw error;
              make(up);
              fs.mkdir(dir);
            }
          };
          make(path);
          return this.realm.copyInto(engine, [true, undefined]);
        }
        case "unlink":
          fs.unlink(path);
          return this.realm.copyInto(engine, [true, undefined]);
        default:
          return fail("ENOSYS", `fs.${op} is not supported`);
      }
    } catch (error) {
      if (error instanceof RExecError) throw error;
      const code = (error as { code?: unknown }).code;
      const message = (error as { message?: unknown }).message;
      // Hook file systems report guest paths; anything else is reduced to its code.
      return fail(typeof code === "string" ? code : "EIO", typeof message === "string" && typeof code === "string" ? message : `EIO: i/o error, ${op} '${guestPath}'`);
    }
  }

  /** Evaluate a module (ESM via import(), others via the CommonJS runtime) from the root; returns a ref to its namespace/exports. */
  evaluate(engine: Engine, id: string, format: RuntimeFormat): GuestRef {
    if (format === "module") {
      return engine.evalScript(`import(${JSON.stringify(this.engineName(id))})`, "<rexec:import>");
    }
    return engine.call(this.runtimeFor(engine).load, null, [this.realm.track(engine.newString(id)), this.realm.track(engine.newString(format))]);
  }

  /** Has the engine been given this module's code (it ran, or is running)? */
  wasEvaluated(id: string): boolean {
    return this.compiled.has(id) || this.servedEsm.has(this.engineName(id));
  }

  /** Forget a module: the next import reads it again through the hooks and evaluates it anew. */
  unload(id: string): void {
    this.loader.forget(id);
    // The compiled entry shares the record's string: keeping it would hold the text the loader just released.
    this.compiled.delete(id);
    this.generations.set(id, (this.generations.get(id) ?? 0) + 1);
    this.pendingForget.push(id);
  }

  /** The original source position of a guest stack frame in a transpiled module. */
  mapFrame(fileName: string, line: number, column: number): { line: number; column: number } | undefined {
    const id = this.idOf(fileName);
    // A CommonJS wrapper's header shares line 1 with the module's own code.
    const shift = line === 1 ? this.firstLineShift.get(id) ?? 0 : 0;
    const col = Math.max(1, column - shift);
    return this.loader.mapPosition(id, line, col) ?? (shift > 0 ? { line, column: col } : undefined);
  }
}
