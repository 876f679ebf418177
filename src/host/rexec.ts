/**
 * `RExec`: the host API. One instance is one guest realm with restricted
 * eval / exec (and, through the loader, execfile / import), configured by
 * options and by static policy fields a subclass overrides — the shape of
 * Python's old `rexec` module, on an engine that actually isolates.
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { GuestRealm, type OutputSink } from "../boundary/realm.js";
import type { RealmSetup } from "../boundary/realm-image.js";
import { formatGuestStack } from "../boundary/guest-stack.js";
import { handled } from "../boundary/handled.js";
import { ENGINE_VARIANT } from "../engine/wasm-variant.js";
import { AbortError, DisposedError, GuestError, RestrictedError, SystemExit, type GuestFrame } from "./errors.js";
import { checkSignal, stopRunningCall } from "./call-abort.js";
import { prepareEval, type PreparedEval } from "./eval-source.js";
import { EvalMemory } from "./eval-memory.js";
import { preloadEsbuildSoon } from "../loader/esbuild-api.js";
import { ModuleHost, MODULE_RUNTIME } from "./module-host.js";
import type { OpenMode } from "./open-mode.js";
import { installWebGlobals } from "./web-natives.js";
import { FetchHost } from "./fetch-host.js";
import { parseOrigins } from "../loader/hooks/net-policy.js";
import { installDeterminism, resolveDeterministic, seededRandomBytes, type ResolvedDeterministic } from "./deterministic.js";
import { MemoryHooks } from "../loader/hooks/memory-hooks.js";
import { GuestTimers } from "./guest-timers.js";
import { WorkerRExec, type WorkerRExecOptions } from "../worker/worker-rexec.js";
import { resolveLimits, type Limits } from "./limits.js";
import { makeLogger } from "./verbose.js";
import type { RHooks } from "../loader/types.js";
import type { Engine, GuestRef } from "../engine/engine.js";

const PRELUDE_SOURCE = readFileSync(new URL("./guest/prelude.js", import.meta.url), "utf8");
const NATIVE_GUARDS_SOURCE = readFileSync(new URL("./guest/native-guards.js", import.meta.url), "utf8");
/**
 * Longest generic Array.prototype loop left to the engine's native code (which
 * the CPU deadline cannot interrupt); longer ones run as interruptible
 * JavaScript, or are refused past NATIVE_REFUSE_MAX (see guest/native-guards.js).
 */
const NATIVE_LOOP_MAX = 2 ** 20;
const NATIVE_REFUSE_MAX = 2 ** 22;

/**
 * @internal Sandboxes of other guest languages by name. The package entry
 * registers "python", so code that imports only this module (the CLI's
 * `eval`) never loads the Python layer.
 */
export const GUEST_LANGUAGES = new Map<string, new (options: any) => object>();

import type { CallOptions, CapturedOutput, ModuleCallOptions, OutputTarget, RExecOptions } from "./rexec-options.js";
export type { CallOptions, CapturedOutput, EngineName, HostFunction, ModuleCallOptions, OutputTarget, RExecOptions } from "./rexec-options.js";

const KNOWN_OPTIONS = new Set([
  "hooks", "verbose", "limits", "globals", "stdio", "okBuiltinModules", "okEnv", "okProcessNames",
  "nokBuiltinNames", "okFetchOrigins", "okWritePaths", "argv", "engine", "worker", "deterministic", "language",
]);
const GLOBAL_NAME = /^[A-Za-z_$][\w$]*$/;

/**
 * A restricted execution environment: one guest realm.
 *
 * ```ts
 * using rx = new RExec({ globals: { add: (a: number, b: number) => a + b } });
 * await rx.r_eval("add(1, 2)"); // 3
 * ```
 */
export class RExec {
  /**
   * `new RExec({ worker: true })` returns a worker-backed instance with the same
   * API; it still answers `instanceof RExec` (and `instanceof` the subclass it was
   * created from).
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (!(value instanceof WorkerRExec) || typeof value.hostClass !== "function") return false;
    return value.hostClass === this || Object.prototype.isPrototypeOf.call(this.prototype, value.hostClass.prototype);
  }

  /** Safe builtin modules a guest may import by bare name (or with `node:`). */
  static okBuiltinModules: readonly string[] = ["path", "util", "events", "assert", "url", "querystring", "string_decoder", "buffer", "fs"];
  /** Environment variables visible in the guest's `process.env` (values copied when the realm starts). */
  static okEnv: readonly string[] = [];
  /** Members of the guest's `process` object. */
  static okProcessNames: readonly string[] = ["argv", "env", "exit", "cwd", "nextTick", "stdin", "stdout", "stderr", "hrtime", "exitCode"];
  /** Globals deleted from the guest realm before guest code runs. */
  static nokBuiltinNames: readonly string[] = [];
  /** Origins the guest's `fetch` may reach (see {@link RExecOptions.okFetchOrigins}); none by default. */
  static okFetchOrigins: readonly string[] = [];

  // Fields are definitely assigned unless the constructor returned a WorkerRExec instead (`!`).
  /** The limits in force for this instance (defaults merged with `options.limits`). */
  readonly limits!: Limits;
  /** The effective policy of this instance. */
  readonly okBuiltinModules!: readonly string[];
  readonly okEnv!: readonly string[];
  readonly okProcessNames!: readonly string[];
  readonly nokBuiltinNames!: readonly string[];
  readonly okFetchOrigins!: readonly string[];

  /** Directories (guest paths) where the guest may write, for the default {@link r_open}. */
  readonly okWritePaths!: readonly string[];
  /** Where guest modules and files come from. */
  readonly hooks!: RHooks;

  protected readonly log!: (line: string) => void;
  protected readonly options!: RExecOptions;
  private modules: ModuleHost | undefined;
  /** The module runtime the realm set-up installed (its method refs), handed to the ModuleHost. */
  private moduleRuntime: Record<string, GuestRef> | undefined;
  private readonly realmReady!: Promise<GuestRealm>;
  private realm: GuestRealm | undefined;
  private disposed = false;
  private captured = { stdout: "", stderr: "" };
  private stdioSinkInstance: OutputSink | undefined;
  private stdinConnected = false;
  private stdinIterator: AsyncIterator<Buffer | string> | undefined;
  private readonly stdinDecoder = new TextDecoder();
  private readonly timers = new GuestTimers();
  /** The guest's fetch, when okFetchOrigins grants any origin. */
  private fetchHost: FetchHost | undefined;
  /** What eval code ran under which name, to report its errors against the host's text. */
  private readonly evalMemory = new EvalMemory(() => this.modules, () => (this.options.engine ?? ENGINE_VARIANT) === "quickjs-ng");

  /** Deterministic mode's settings, when on. */
  private deterministic: ResolvedDeterministic | undefined;

  constructor(options: RExecOptions = {}) {
    if (typeof options !== "object" || options === null) throw new TypeError("RExec options must be an object");
    if (options.language !== undefined && options.language !== "javascript") {
      const Other = GUEST_LANGUAGES.get(options.language);
      if (!Other) throw new TypeError(`unknown language "${String(options.language)}"; use "javascript" or "python" (import rexec's package entry for Python)`);
      return new Other(options) as unknown as RExec;
    }
    // Worker mode: the same API, the realm in a worker thread (a subclass's static policy carries over).
    if (options.worker) return new WorkerRExec(options as WorkerRExecOptions, new.target as never) as unknown as RExec;
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`unknown RExec option "${key}"; known options: ${[...KNOWN_OPTIONS].join(", ")}`);
    }
    const statics = new.target as unknown as typeof RExec;
    this.options = options;
    this.limits = resolveLimits(options.limits);
    this.log = makeLogger(options.verbose);
    this.okBuiltinModules = stringList(options.okBuiltinModules ?? statics.okBuiltinModules, "okBuiltinModules");
    this.okEnv = stringList(options.okEnv ?? statics.okEnv, "okEnv");
    this.okProcessNames = stringList(options.okProcessNames ?? statics.okProcessNames, "okProcessNames");
    this.nokBuiltinNames = stringList(options.nokBuiltinNames ?? statics.nokBuiltinNames, "nokBuiltinNames");
    this.okFetchOrigins = stringList(options.okFetchOrigins ?? statics.okFetchOrigins, "okFetchOrigins");
    const fetchOrigins = parseOrigins(this.okFetchOrigins, "okFetchOrigins", true);
    if (fetchOrigins.size > 0) this.fetchHost = new FetchHost({ origins: fetchOrigins, maxBytes: this.limits.resultBytes, timeoutMs: this.limits.wallTimeMs });
    this.okWritePaths = stringList(options.okWritePaths ?? [], "okWritePaths").map(trimTrailingSlashes);
    this.deterministic = resolveDeterministic(options.deterministic);
    if (options.hooks !== undefined && (typeof options.hooks !== "object" || options.hooks === null || typeof options.hooks.resolve !== "function" || typeof options.hooks.load !== "function")) {
      throw new TypeError("options.hooks must be an RHooks (an object with resolve() and load()), e.g. new FileSystemHooks({ root })");
    }
    this.hooks = options.hooks ?? new MemoryHooks({ files: {} });
    if (options.globals !== undefined) {
      if (typeof options.globals !== "object" || options.globals === null) throw new TypeError("options.globals must be an object of { name: value | function }");
      for (const name of Object.keys(options.globals)) {
        if (!GLOBAL_NAME.test(name)) throw new TypeError(`options.globals: "${name}" is not a valid global name`);
      }
    }
    this.realmReady = this.start();
    // The first call reports a start-up failure; do not also report it as unhandled.
    this.realmReady.catch(() => {});
  }

  private async start(): Promise<GuestRealm> {
    // Off any guest's budget, while the realm starts (its start awaits I/O, so
    // the event loop turns): a first import would otherwise pay for loading
    // esbuild (loader/esbuild-api.ts).
    preloadEsbuildSoon();
    // Started from the realm image of this configuration when there is one
    // (boundary/realm-image.ts): the set-up below then only binds this
    // sandbox's natives instead of evaluating it all again.
    const realm = await GuestRealm.createWithSetup({ limits: this.limits, log: this.log, verbose: Boolean(this.options.verbose), variant: this.options.engine }, this.realmSetup());
    if (this.disposed) {
      realm.dispose();
      throw new DisposedError("dispose() was called");
    }
    this.realm = realm;
    const modules = new ModuleHost(realm, this.hooks, this.okBuiltinModules, (path, mode) => this.r_open(path, mode), this.log);
    modules.install();
    if (this.moduleRuntime) modules.adoptRuntime(this.moduleRuntime);
    this.modules = modules;
    // Every call's error, including calls of guest functions the host holds:
    // host originals for denials, TypeScript frames mapped to the .ts lines.
    realm.errorMapper = (error) => this.evalMemory.mapError(modules.original(error)) as Error;
    for (const [name, value] of Object.entries(this.options.globals ?? {})) {
      await realm.defineGlobal(name, value);
    }
    return realm;
  }

  /**
   * How this sandbox's realm is set up: guards, web globals, prelude. The same
   * code evaluates the set-up into a realm image and binds each sandbox
   * restored from it, so its host functions must be created here, in this
   * order, and everything else it depends on must be in `key`.
   */
  private realmSetup(): RealmSetup {
    const config = this.processConfig();
    const bufferAllowed = this.okBuiltinModules.includes("buffer") || this.okBuiltinModules.includes("node:buffer");
    const key = JSON.stringify({ config, nok: this.nokBuiltinNames, bufferAllowed, deterministic: this.deterministic ?? null, fetch: this.fetchHost !== undefined, native: [NATIVE_LOOP_MAX, NATIVE_REFUSE_MAX] });
    return {
      key,
      install: async (target) => {
        const realm = target as GuestRealm;
        // The guards go first: they capture intrinsics the prelude may remove (nokBuiltinNames).
        await realm.installPrelude(NATIVE_GUARDS_SOURCE, "<rexec:guards>", { nativeMax: NATIVE_LOOP_MAX, refuseMax: NATIVE_REFUSE_MAX, poll: () => realm.pollNative() });
        // Web-standard globals (URL, crypto, Intl…) as lazy accessors; before the prelude, whose nokBuiltinNames removal covers them.
        await installWebGlobals({
          realm,
          nokBuiltinNames: this.nokBuiltinNames,
          bufferAllowed,
          requireBuiltin: (engine, name) => this.modules!.requireBuiltin(engine, name),
          ...(this.deterministic ? { randomBytes: seededRandomBytes(this.deterministic) } : {}),
          ...(this.fetchHost ? { fetchHost: this.fetchHost } : {}),
        });
        await realm.installPrelude(PRELUDE_SOURCE, "<rexec:prelude>", {
          natives: {
            write: (stream: unknown, text: unknown) => realm.write(stream === "stderr" ? "stderr" : "stdout", String(text)),
            // Like Node: a non-integer code is a failure (1); beyond safe integers is no code at all.
            exit: (code: unknown) => realm.requestExit(typeof code === "number" && Number.isSafeInteger(code) ? code : 1),
            sleep: (id: unknown, ms: unknown) => this.timers.sleep(id, ms),
            cancel: (id: unknown) => this.timers.cancel(id),
            readStdin: () => this.readStdin(),
          },
          config,
        });
        if (this.deterministic) await installDeterminism(realm, this.deterministic);
        // The module runtime too, so it is in the realm image (imports then start at once).
        this.moduleRuntime = await realm.installRaw(MODULE_RUNTIME.source, MODULE_RUNTIME.fileName, (engine, args) => {
          if (!this.modules) throw realm.throwable(engine, "Error", "modules are not available yet");
          return this.modules.runtimeNative(engine, args);
        }, MODULE_RUNTIME.methods);
      },
    };
  }

  /** What the guest's `process` shows; a subclass may override to add members. */
  protected processConfig(): Record<string, unknown> {
    const env: Record<string, string> = {};
    for (const name of this.okEnv) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    return {
      argv: ["rexec", "<script>", ...(this.options.argv ?? [])],
      env,
      cwd: this.hooks.cwd,
      platform: "rexec",
      version: "v0.0.0-rexec",
      processNames: this.okProcessNames,
      nokBuiltinNames: this.nokBuiltinNames,
    };
  }

  /** The realm, once started; throws if disposed. */
  private async ready(): Promise<GuestRealm> {
    if (this.disposed) throw new DisposedError("dispose() was called");
    const realm = await this.realmReady;
    if (this.disposed) throw new DisposedError("dispose() was called");
    return realm;
  }

  /** Output the guest wrote during the most recent r_* call. */
  get output(): CapturedOutput {
    return { ...this.captured };
  }

  /** Bytes of wasm memory the guest realm holds now (its high-water mark; wasm memory never shrinks). */
  get heapBytes(): number {
    return this.realm?.heapBytes ?? 0;
  }

  /** CPU milliseconds the most recent call charged to the guest. */
  get lastCallCpuMs(): number {
    return this.realm?.lastCallCpuMs ?? 0;
  }

  /** True until {@link dispose} (or a failure that discarded the engine). */
  get alive(): boolean {
    return !this.disposed && (this.realm === undefined || this.realm.alive);
  }

  /** A sink that captures output for `output` (r_* methods). */
  private captureSink(): OutputSink {
    const captured = { stdout: "", stderr: "" };
    this.captured = captured;
    return (stream, text) => {
      captured[stream] += text;
    };
  }

  /** A sink that writes to `stdio` (s_* methods). */
  private stdioSink(): OutputSink {
    if (!this.stdioSinkInstance) {
      const stdout = toWriter(this.options.stdio?.stdout ?? process.stdout);
      const stderr = toWriter(this.options.stdio?.stderr ?? process.stderr);
      this.stdioSinkInstance = (stream, text) => (stream === "stdout" ? stdout : stderr)(text);
    }
    return this.stdioSinkInstance;
  }

  /**
   * Evaluate an expression (or script) and return its completion value, copied out.
   * The code may use top-level `await`, `require`, static `import` and, when asked
   * for, TypeScript (see {@link CallOptions}).
   *
   * @typeParam T - the type the host expects back (default `unknown`); not checked at run time.
   */
  r_eval<T = unknown>(code: string, options?: CallOptions): Promise<T> {
    return handled(this.evaluate(code, options, this.captureSink(), true) as Promise<T>);
  }

  /** Run statements; state persists in this realm. Resolves to undefined. */
  r_exec(code: string, options?: CallOptions): Promise<void> {
    return handled(this.evaluate(code, options, this.captureSink(), false).then(toVoid));
  }

  /** {@link r_eval} with the guest's console and process streams connected to `stdio`. */
  s_eval<T = unknown>(code: string, options?: CallOptions): Promise<T> {
    return handled(this.evaluate(code, options, this.stdioSink(), true) as Promise<T>);
  }

  /** {@link r_exec} with the guest's console and process streams connected to `stdio`. */
  s_exec(code: string, options?: CallOptions): Promise<void> {
    return handled(this.evaluate(code, options, this.stdioSink(), false).then(toVoid));
  }

  /** camelCase alias of {@link r_eval}. */
  eval<T = unknown>(code: string, options?: CallOptions): Promise<T> {
    return this.r_eval<T>(code, options);
  }

  /** camelCase alias of {@link r_exec}. */
  exec(code: string, options?: CallOptions): Promise<void> {
    return this.r_exec(code, options);
  }

  private async evaluate(code: string, options: CallOptions | undefined, sink: OutputSink, copyResult: boolean): Promise<unknown> {
    if (typeof code !== "string") throw new TypeError(`code must be a string, got ${code === null ? "null" : typeof code}`);
    const filename = checkFilename(options?.filename ?? "<eval>");
    const signal = checkSignal(options?.signal);
    if (options?.untilIdle !== undefined && typeof options.untilIdle !== "boolean") throw new TypeError("options.untilIdle must be a boolean");
    if (signal?.aborted) throw new AbortError(signal.reason);
    const prepared = prepareCode(code, filename, checkLanguage(options?.language, filename));
    // Asynchronous hooks answer ahead of the (synchronous) engine: fetch what the code names literally.
    // (Only then is there a wait before the call is queued: calls without imports keep their order exactly.)
    if (prepared.imports.length > 0 || prepared.requires.length > 0) await this.prefetchFor(prepared, filename);
    return this.runCall((engine, modules) => {
      if (prepared.usesRequire && !this.nokBuiltinNames.includes("require")) modules.defineGlobalRequire(engine);
      this.evalMemory.remember(filename, prepared.code, prepared.mapPosition);
      return engine.evalScript(prepared.code, filename);
    }, sink, copyResult, options?.untilIdle === true, signal);
  }

  /** Fetch the static imports and literal requires of eval code through the hooks (failures are reported by the call itself). */
  private async prefetchFor(prepared: PreparedEval, filename: string): Promise<void> {
    await this.ready();
    const loader = this.modules!.loader;
    const referrer = filename.startsWith("<") ? undefined : filename;
    for (const specifier of prepared.imports) await loader.prefetch(specifier, referrer, "import").catch(() => {});
    for (const specifier of prepared.requires) await loader.prefetch(specifier, undefined, "require").catch(() => {});
  }

  /**
   * Run one call in the realm: the loader's per-call state is reset first, and a
   * guest copy of a host denial is replaced by the host's own error.
   */
  private async runCall(enter: (engine: Engine, modules: ModuleHost) => GuestRef, sink: OutputSink, copyResult: boolean, untilIdle = false, signal?: AbortSignal): Promise<unknown> {
    const realm = await this.ready();
    const modules = this.modules!;
    const run = (): Promise<unknown> => realm.run((engine) => {
      // Aborted while queued: never starts (the promise was rejected already).
      if (signal?.aborted) throw new AbortError(signal.reason);
      running = true;
      realm.defaultSink = sink;
      this.stdinConnected = sink === this.stdioSinkInstance;
      modules.beginCall(engine);
      return enter(engine, modules);
    }, sink, copyResult, undefined, untilIdle);
    let running = false;
    if (!signal) return run();
    if (signal.aborted) throw new AbortError(signal.reason);
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => {
        if (running) {
          this.log("abort: the call's signal was aborted; stopping the guest");
          stopRunningCall(realm, () => running);
        } else reject(new AbortError(signal.reason));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      run().then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          // Finished before the guest polled again: aborted all the same (its work is done, though).
          signal.aborted ? reject(new AbortError(signal.reason)) : resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(signal.aborted && running ? this.abortFailure(error, signal) : error);
        },
      ).finally(() => {
        running = false;
      });
    });
  }

  /** What an aborted call that was running rejects with: AbortError, saying so if the sandbox did not survive. */
  private abortFailure(error: unknown, signal: AbortSignal): AbortError {
    if (this.alive) return new AbortError(signal.reason);
    const why = error instanceof SystemExit ? "" : `: ${error instanceof Error ? error.message : "it failed"}`;
    return new AbortError(signal.reason, ` and the sandbox did not survive it${why}`);
  }

  /** The next chunk of stdin for the guest (s_* calls only; r_* calls see the end at once). */
  private async readStdin(): Promise<string | null> {
    if (!this.stdinConnected) return null;
    const stream = this.options.stdio?.stdin ?? process.stdin;
    this.stdinIterator ??= (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
    const { value, done } = await this.stdinIterator.next();
    if (done) return null;
    return typeof value === "string" ? value : this.stdinDecoder.decode(value, { stream: true });
  }

  // ---------------------------------------------------------------------------
  // Modules

  private checkName(name: unknown, what: string): string {
    if (typeof name !== "string" || name.length === 0) throw new TypeError(`${what} expects a module specifier string, got ${typeof name}`);
    if (name.includes("\0")) throw new TypeError(`${what}: module specifiers must not contain NUL characters`);
    return name;
  }

  private async moduleCall(name: string, sink: OutputSink, copyResult: boolean, what: string, options: ModuleCallOptions | undefined): Promise<unknown> {
    const signal = checkSignal(checkModuleOptions(options, what).signal);
    if (signal?.aborted) throw new AbortError(signal.reason);
    const asScript = !copyResult; // execfile: run like `node file`, until its async work is done
    // execfile takes a path, as `node main.js` does: a bare name is a file in the cwd, never a package.
    const specifier = asScript ? scriptPath(this.checkName(name, what)) : this.checkName(name, what);
    await this.ready();
    const modules = this.modules!;
    await modules.loader.prefetch(specifier, undefined, "import");
    if (asScript) {
      // execfile is not import: a file run before runs again, read anew through the hooks.
      // What it imports stays loaded, like Node's module cache within one process.
      const { id } = modules.resolve(specifier, undefined, "import");
      if (!id.startsWith("node:") && modules.wasEvaluated(id)) {
        modules.unload(id);
        await modules.loader.prefetch(specifier, undefined, "import");
      }
    }
    return this.runCall((engine, modules) => {
      const { id, format } = modules.resolve(specifier, undefined, "import");
      if (asScript) {
        // process.argv[1] names the script, as in Node.
        this.realm!.track(engine.evalScript(`if (globalThis.process && Array.isArray(process.argv)) process.argv[1] = ${JSON.stringify(id)};`, "<rexec:argv>"));
      }
      return modules.evaluate(engine, id, format);
    }, sink, copyResult, asScript, signal);
  }

  /**
   * Run a file found through the hooks (`.js .mjs .cjs .ts .mts .cts .json`),
   * resolved as if a module at the hooks' root imported it.
   */
  r_execfile(path: string, options?: ModuleCallOptions): Promise<void> {
    return handled(this.moduleCall(path, this.captureSink(), false, "r_execfile", options).then(toVoid));
  }

  /**
   * Import a module and return its namespace: values copied, functions callable
   * (async, each call under the limits). `./calc.js` is a file at the root; a
   * bare `calc` is a package or a safe builtin. Each module loads once per realm.
   */
  r_import<T = Record<string, unknown>>(name: string, options?: ModuleCallOptions): Promise<T> {
    return handled(this.moduleCall(name, this.captureSink(), true, "r_import", options) as Promise<T>);
  }

  /**
   * Read a module again through the hooks, evaluate it anew, and return the new
   * namespace. Like Python's reload: modules (and host code) that already hold
   * the old module's bindings keep them; later imports get the new instance.
   */
  r_reload<T = Record<string, unknown>>(name: string, options?: ModuleCallOptions): Promise<T> {
    return handled(Promise.resolve().then(() => {
      this.r_unload(name, options);
      return this.r_import<T>(name, options);
    }));
  }

  /**
   * Forget a module: the next import reads and evaluates it again. Bindings
   * already imported are unaffected.
   */
  r_unload(name: string, options?: ModuleCallOptions): void {
    const specifier = this.checkName(name, "r_unload");
    // Nothing runs, so there is nothing to stop; an aborted signal still means "do not".
    const signal = checkSignal(checkModuleOptions(options, "r_unload").signal);
    if (signal?.aborted) throw new AbortError(signal.reason);
    if (this.disposed) throw new DisposedError("dispose() was called");
    if (!this.modules) return; // nothing loaded yet
    const { id } = this.modules.resolve(specifier, undefined, "import");
    if (!id.startsWith("node:")) this.modules.unload(id);
  }

  /** {@link r_execfile} with the guest's stdio connected to `stdio`. */
  s_execfile(path: string, options?: ModuleCallOptions): Promise<void> {
    return handled(this.moduleCall(path, this.stdioSink(), false, "s_execfile", options).then(toVoid));
  }

  /** {@link r_import} with the guest's stdio connected to `stdio`. */
  s_import<T = Record<string, unknown>>(name: string, options?: ModuleCallOptions): Promise<T> {
    return handled(this.moduleCall(name, this.stdioSink(), true, "s_import", options) as Promise<T>);
  }

  /** {@link r_reload} with the guest's stdio connected to `stdio`. */
  s_reload<T = Record<string, unknown>>(name: string, options?: ModuleCallOptions): Promise<T> {
    return handled(Promise.resolve().then(() => {
      this.r_unload(name, options);
      return this.s_import<T>(name, options);
    }));
  }

  /** Same as {@link r_unload} (nothing runs). */
  s_unload(name: string, options?: ModuleCallOptions): void {
    this.r_unload(name, options);
  }

  /** camelCase alias of {@link r_execfile}. */
  execFile(path: string, options?: ModuleCallOptions): Promise<void> {
    return this.r_execfile(path, options);
  }

  /** camelCase alias of {@link r_import}. */
  import<T = Record<string, unknown>>(name: string, options?: ModuleCallOptions): Promise<T> {
    return this.r_import<T>(name, options);
  }

  /** camelCase alias of {@link r_reload}. */
  reload<T = Record<string, unknown>>(name: string, options?: ModuleCallOptions): Promise<T> {
    return this.r_reload<T>(name, options);
  }

  /** camelCase alias of {@link r_unload}. */
  unload(name: string, options?: ModuleCallOptions): void {
    this.r_unload(name, options);
  }

  /**
   * The gate every guest file access passes through, as in the seed. `path` is
   * canonical (inside the hooks' roots, `..` and symlinks resolved); `mode` is
   * `"r"`, `"w"` or `"a"`. Return to allow; throw {@link RestrictedError} to deny.
   * Default: reads anywhere in the roots; writes only under `okWritePaths`.
   * Override in a subclass for other policies.
   */
  r_open(path: string, mode: OpenMode): void {
    if (mode === "r") return;
    if (mode !== "w" && mode !== "a") {
      this.log(`denied: open ${path} with mode ${String(mode)}`);
      throw new RestrictedError(`opening ${path} with mode "${String(mode)}"`, 'use mode "r", "w" or "a"');
    }
    for (const dir of this.okWritePaths) {
      if (path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`)) return;
    }
    this.log(`denied: write to ${path}`);
    throw new RestrictedError(`write to ${path}`, "list its directory in okWritePaths or override r_open", "--allow-write <dir>");
  }

  /**
   * Define globals in this realm now, as `options.globals` does at start
   * (used by the pool for a run's `input` and `globals`; the realm is fresh
   * for each run, so they last for that run only).
   *
   * @internal Not part of the public API; worker mode does not forward it.
   */
  async defineGlobalsForRun(globals: Record<string, unknown>): Promise<void> {
    const realm = await this.ready();
    for (const [name, value] of Object.entries(globals)) {
      if (!GLOBAL_NAME.test(name)) throw new TypeError(`"${name.slice(0, 64)}" is not a valid global name`);
      await realm.defineGlobal(name, value);
    }
  }

  /** Free the guest realm and its memory. Idempotent; later calls throw DisposedError. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.timers.clear();
    this.fetchHost?.dispose();
    this.realm?.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function stringList(value: unknown, name: string): readonly string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new TypeError(`${name} must be an array of strings`);
  }
  return Object.freeze([...value]);
}

function checkFilename(name: unknown): string {
  if (typeof name !== "string" || name.length === 0 || name.length > 1024 || name.includes("\0")) {
    throw new TypeError("options.filename must be a non-empty string without NUL characters");
  }
  return name;
}

function toWriter(target: OutputTarget): (text: string) => void {
  if (typeof target === "function") return target;
  if (target && typeof target.write === "function") return (text) => void target.write(text);
  throw new TypeError("stdio.stdout/stderr must be a writable stream or a function (text: string) => void");
}

function checkModuleOptions(options: unknown, what: string): ModuleCallOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) throw new TypeError(`${what}: options must be an object such as { signal }`);
  return options as ModuleCallOptions;
}

function checkLanguage(language: unknown, filename: string): boolean {
  if (language === undefined) return /\.[cm]?ts$/.test(filename);
  if (language !== "js" && language !== "ts") throw new TypeError('options.language must be "js" or "ts"');
  return language === "ts";
}

/** {@link prepareEval}, with invalid TypeScript reported as the guest's SyntaxError (as the engine reports invalid JavaScript). */
function prepareCode(code: string, filename: string, typescript: boolean): PreparedEval {
  try {
    return prepareEval(code, filename, typescript);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    const at = error.message.startsWith(`${filename}:`) ? /^:(\d+):(\d+): /.exec(error.message.slice(filename.length)) : null;
    const frames: GuestFrame[] = at ? [{ functionName: undefined, fileName: filename, line: Number(at[1]), column: Number(at[2]) }] : [];
    throw new GuestError("SyntaxError", error.message, formatGuestStack(frames), frames);
  }
}

/** Resolves a call's promise to undefined (r_exec, r_execfile). */
function toVoid(): void {}

/** `/a/b///` → `/a/b` (`/` stays `/`); a loop, not `/\/+$/`, which is quadratic on long runs of slashes. */
function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 47) end--;
  return path.slice(0, end);
}

/**
 * `node main.js` semantics for execfile: a path relative to the cwd. Only
 * `/…`, `./…`, `../…` and URLs are kept as they are; anything else gets `./`.
 */
function scriptPath(path: string): string {
  if (path.startsWith("/") || path.startsWith("./") || path.startsWith("../") || path === "." || path === ".." || /^[a-z][a-z0-9+.-]*:/i.test(path)) return path;
  return `./${path}`;
}
