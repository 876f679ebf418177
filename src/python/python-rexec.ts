/**
 * `PythonRExec`: rexec's API for Python guests (CPython in WebAssembly, from
 * the optional `pyodide` package), with the same options, hooks, policy and
 * typed errors as the JavaScript `RExec`.
 *
 * Invariants this class keeps (the boundary itself is firewall.ts + py-worker.ts):
 * - Host code never holds a Python object: values arrive as copies (codec.ts).
 * - A sandbox's interpreter is never reused after a violation, a fatal error,
 *   a hard stop or a limit error; later calls throw DisposedError naming why.
 * - Nothing a guest does reaches the host process's exit code: guest exits are
 *   {@link SystemExit} values, and the interpreter lives in a worker thread.
 * - Calls run one at a time, in order.
 *
 * @packageDocumentation
 */
import { CloneError, DisposedError, ModuleNotFoundError, RestrictedError } from "../host/errors.js";
import { DEFAULT_LIMITS, resolveLimits, type Limits } from "../host/limits.js";
import type { OpenMode } from "../host/open-mode.js";
import { makeLogger } from "../host/verbose.js";
import type { RHooks } from "../loader/types.js";
import { MemoryHooks } from "../loader/hooks/memory-hooks.js";
import { handled } from "../boundary/handled.js";
import { isImplicitCallName } from "../boundary/implicit-calls.js";
import { toGuest } from "./codec.js";
import { takeInterpreter, type CallOutcome, type Interpreter, type InterpreterSettings } from "./interpreter.js";
import { findPythonModule, loadPythonFile, MODULE_NAME } from "./python-modules.js";
import { openDenied, settleOutcome } from "./settle.js";

import type { PythonCallOptions, PythonOutput, PythonOutputTarget, PythonRExecOptions } from "./python-options.js";
import { checkStdio, isCanonicalPath, moduleName, strings, wholeNumber } from "./python-options.js";
export type { PythonCallOptions, PythonOutput, PythonOutputTarget, PythonRExecOptions } from "./python-options.js";

const KNOWN = new Set(["language", "hooks", "verbose", "limits", "globals", "stdio", "okBuiltinModules", "okEnv", "argv", "fileSystem", "spare"]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * @internal Test-only: a sandbox WITHOUT the import firewall (and without the
 * openat check), so the hostile tests can show each attack works when the
 * boundary is missing. A symbol, not exported from the package entry, so no
 * options object from configuration or JSON can carry it.
 */
export const UNSAFE_NO_FIREWALL: unique symbol = Symbol("rexec.python.unsafeNoFirewallForTests");

/** Python's limits default: the interpreter alone takes ~32 MiB of wasm memory. */
export const PYTHON_DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({ ...DEFAULT_LIMITS, memoryBytes: 256 * 1024 * 1024 });
const MIN_MEMORY = 64 * 1024 * 1024;

/**
 * A restricted Python environment: one CPython interpreter in its own worker
 * thread, behind an import-boundary firewall.
 *
 * ```ts
 * const py = new PythonRExec({ globals: { add: (a: number, b: number) => a + b } });
 * await py.r_eval("add(1, 2)"); // 3
 * py.dispose();
 * ```
 */
export class PythonRExec {
  /** Standard-library modules a guest may import (pure computation; no I/O beyond the in-memory FS). */
  static okBuiltinModules: readonly string[] = [
    "json", "re", "math", "cmath", "datetime", "time", "calendar", "collections", "decimal", "fractions", "statistics",
    "itertools", "functools", "operator", "dataclasses", "typing", "string", "random", "heapq", "bisect", "textwrap",
    "enum", "abc", "copy", "base64", "binascii", "hashlib", "hmac", "struct", "types", "warnings", "numbers",
    "contextlib", "keyword", "reprlib", "weakref", "traceback", "io", "codecs", "unicodedata", "difflib", "pprint",
    "csv", "uuid", "zoneinfo", "array", "graphlib", "secrets", "shlex", "fnmatch", "html", "sys", "os", "pathlib",
  ];
  /** Environment variables copied into `os.environ`. */
  static okEnv: readonly string[] = [];

  readonly limits: Limits;
  readonly okBuiltinModules: readonly string[];
  readonly okEnv: readonly string[];
  readonly hooks: RHooks;
  protected readonly log: (line: string) => void;
  private readonly options: PythonRExecOptions;
  private readonly settings: InterpreterSettings;
  private readonly hostFunctions = new Map<string, (...args: any[]) => unknown>();
  private readonly started: Promise<Interpreter>;
  private interpreter: Interpreter | undefined;
  private disposedReason: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private captured = { stdout: "", stderr: "" };
  /** Whether the running call is an s_* call (only those read the host's stdin). */
  private stdioCall = false;
  private stdinIterator: AsyncIterator<Buffer | string> | undefined;
  private stdinRest: Uint8Array = new Uint8Array(0);
  private restrictedDuringCall: RestrictedError | undefined;
  private readonly decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(options: PythonRExecOptions = {}) {
    if (typeof options !== "object" || options === null) throw new TypeError("PythonRExec options must be an object");
    for (const key of Object.keys(options)) {
      if (!KNOWN.has(key)) throw new TypeError(`unknown option "${key}" for a Python sandbox; known options: ${[...KNOWN].join(", ")}`);
    }
    if (options.language !== undefined && options.language !== "python") throw new TypeError('PythonRExec: options.language must be "python"');
    const statics = new.target as unknown as typeof PythonRExec;
    this.options = options;
    this.limits = resolveLimits(options.limits, PYTHON_DEFAULT_LIMITS);
    if (this.limits.memoryBytes < MIN_MEMORY) throw new RangeError(`limits.memoryBytes must be at least ${MIN_MEMORY} bytes for a Python sandbox (the interpreter alone needs ~32 MiB), got ${this.limits.memoryBytes}`);
    this.log = makeLogger(options.verbose);
    this.okBuiltinModules = strings(options.okBuiltinModules ?? statics.okBuiltinModules, "okBuiltinModules");
    this.okEnv = strings(options.okEnv ?? statics.okEnv, "okEnv");
    if (options.hooks !== undefined && (typeof options.hooks !== "object" || options.hooks === null || typeof options.hooks.resolve !== "function" || typeof options.hooks.load !== "function")) {
      throw new TypeError("options.hooks must be an RHooks (an object with resolve() and load()), e.g. new FileSystemHooks({ root })");
    }
    this.hooks = options.hooks ?? new MemoryHooks({ files: {} });
    const values: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(options.globals ?? {})) {
      if (!NAME.test(name)) throw new TypeError(`options.globals: "${name}" is not a valid Python name`);
      if (typeof value === "function") this.hostFunctions.set(name, value as (...args: any[]) => unknown);
      else values[name] = toGuest(value);
    }
    const fsOptions = options.fileSystem ?? {};
    this.settings = {
      memoryBytes: this.limits.memoryBytes,
      resultBytes: this.limits.resultBytes,
      outputBytes: Math.min(this.limits.outputBytes, 2 ** 31),
      fsQuotaBytes: wholeNumber(fsOptions.bytes ?? 32 * 2 ** 20, "fileSystem.bytes"),
      maxFiles: wholeNumber(fsOptions.files ?? 2000, "fileSystem.files"),
      ...((options as { [UNSAFE_NO_FIREWALL]?: boolean })[UNSAFE_NO_FIREWALL] === true ? { unsafeNoFirewall: true } : {}),
    };
    checkStdio(options.stdio);
    const env: Record<string, string> = {};
    for (const name of this.okEnv) if (process.env[name] !== undefined) env[name] = process.env[name]!;
    const argv = strings(options.argv ?? ["main.py"], "argv");
    this.started = this.start(values, env, argv);
    this.started.catch(() => {});
  }

  private async start(values: Record<string, unknown>, env: Record<string, string>, argv: readonly string[]): Promise<Interpreter> {
    const interpreter = await takeInterpreter(this.settings, this.options.spare !== false);
    if (this.disposedReason) {
      interpreter.terminate("disposed");
      throw new DisposedError(this.disposedReason);
    }
    this.interpreter = interpreter;
    await this.run({ op: "setup", args: [[...this.okBuiltinModules], [...this.hostFunctions.keys()], argv, env, values] }, "capture", interpreter);
    return interpreter;
  }

  /** Output the guest wrote during the most recent r_* call. */
  get output(): PythonOutput {
    return { ...this.captured };
  }

  /** True until disposed (by the host, or after a failure that ended the interpreter). */
  get alive(): boolean {
    return this.disposedReason === undefined;
  }

  /** Bytes of wasm memory the interpreter holds (its high-water mark; wasm memory never shrinks). */
  get heapBytes(): number {
    return this.interpreter?.memoryBytes ?? 0;
  }

  /** Evaluate Python: statements, then the value of a final expression (like a notebook cell). */
  r_eval<T = unknown>(code: string, options?: PythonCallOptions): Promise<T> {
    return this.enqueue(() => this.code("eval", code, options, "capture")) as Promise<T>;
  }

  /** Run Python statements; state persists across calls. */
  r_exec(code: string, options?: PythonCallOptions): Promise<void> {
    return handled(this.enqueue(() => this.code("exec", code, options, "capture")).then(nothing));
  }

  /** Run a `.py` file found through the hooks (`./main.py`, `pkg/tool.py`) in the sandbox's globals. */
  r_execfile(path: string, _options?: unknown): Promise<void> {
    return handled(this.enqueue(() => this.execfile(path, "capture")).then(nothing));
  }

  /**
   * Import a module (`calc`, `pkg.sub`) through the hooks or the allowed
   * standard library. Returns its public names: values copied, functions as
   * async host functions that call into the guest — except under names host
   * built-ins call on their own (`then`, `toJSON`, `toString`, `valueOf`, …),
   * which are left out.
   */
  r_import<T = Record<string, unknown>>(name: string, _options?: unknown): Promise<T> {
    return this.enqueue(() => this.importModule("import", name, "capture")) as Promise<T>;
  }

  /** Forget a module and its submodules, then import it again. */
  r_reload<T = Record<string, unknown>>(name: string, _options?: unknown): Promise<T> {
    return this.enqueue(() => this.importModule("reload", name, "capture")) as Promise<T>;
  }

  /** Forget a module: the next import reads and runs it again. */
  r_unload(name: string, _options?: unknown): Promise<void> {
    const checked = moduleName(name, "r_unload");
    return handled(this.enqueue(() => this.call({ op: "unload", name: checked }, "capture")).then(nothing));
  }

  /** {@link r_eval} with guest output written to `stdio`. */
  s_eval<T = unknown>(code: string, options?: PythonCallOptions): Promise<T> {
    return this.enqueue(() => this.code("eval", code, options, "stdio")) as Promise<T>;
  }
  /** {@link r_exec} with guest output written to `stdio`. */
  s_exec(code: string, options?: PythonCallOptions): Promise<void> {
    return handled(this.enqueue(() => this.code("exec", code, options, "stdio")).then(nothing));
  }
  /** {@link r_execfile} with guest output written to `stdio`. */
  s_execfile(path: string, _options?: unknown): Promise<void> {
    return handled(this.enqueue(() => this.execfile(path, "stdio")).then(nothing));
  }
  /** {@link r_import} with guest output written to `stdio`. */
  s_import<T = Record<string, unknown>>(name: string, _options?: unknown): Promise<T> {
    return this.enqueue(() => this.importModule("import", name, "stdio")) as Promise<T>;
  }
  /** {@link r_reload} with guest output written to `stdio`. */
  s_reload<T = Record<string, unknown>>(name: string, _options?: unknown): Promise<T> {
    return this.enqueue(() => this.importModule("reload", name, "stdio")) as Promise<T>;
  }
  /** Same as {@link r_unload}. */
  s_unload(name: string, options?: unknown): Promise<void> {
    return this.r_unload(name, options);
  }

  /** camelCase aliases. */
  eval<T = unknown>(code: string, options?: PythonCallOptions): Promise<T> { return this.r_eval<T>(code, options); }
  exec(code: string, options?: PythonCallOptions): Promise<void> { return this.r_exec(code, options); }
  execFile(path: string): Promise<void> { return this.r_execfile(path); }
  import<T = Record<string, unknown>>(name: string): Promise<T> { return this.r_import<T>(name); }
  reload<T = Record<string, unknown>>(name: string): Promise<T> { return this.r_reload<T>(name); }
  unload(name: string): Promise<void> { return this.r_unload(name); }

  /**
   * The gate every guest file open passes (at the `openat` syscall, in the
   * guest's in-memory file system), except the interpreter's own read-only
   * standard library; creating, renaming or removing a node (mkdir, rename —
   * both ends —, symlink, unlink, rmdir) asks it as a write `"w"` of that
   * node. Paths are canonical (absolute, normalised, links resolved; an open
   * through a dangling link is asked about the link's target). Return to
   * allow; throw {@link RestrictedError} to deny.
   * Default: read and write under `/tmp` and `/home/guest` (in memory, within
   * the file-system quotas); nothing else. Override in a subclass.
   */
  r_open(path: string, mode: OpenMode): void {
    for (const dir of DEFAULT_OPEN_DIRS) {
      if (path === dir || path.startsWith(`${dir}/`)) return;
    }
    throw openDenied(path, mode);
  }

  /**
   * A host file to show the guest at `path`, asked after {@link r_open}
   * allowed a read of a path the guest's in-memory file system does not
   * serve itself: return its bytes to have them copied in (charged to the
   * file-system quota), or `undefined` (the default) for none. The CLI uses it
   * for `--allow-read`. Read-only: guest writes never reach the host.
   */
  protected hostFileFor(_path: string): Uint8Array | undefined {
    return undefined;
  }

  /** Stop the interpreter and free its memory. Idempotent; later calls throw DisposedError. */
  dispose(): void {
    this.retire("dispose() was called");
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  private retire(reason: string): void {
    if (this.disposedReason) return;
    this.disposedReason = reason;
    this.interpreter?.terminate(reason);
  }

  /**
   * Queue a call. Every promise a public method returns is marked handled from
   * birth (handled.ts): a host that fires a call and forgets it must not die
   * of a rejection the guest chose (SECURITY.md §9).
   */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => {});
    return handled(next);
  }

  private code(op: "eval" | "exec", code: string, options: PythonCallOptions | undefined, out: "capture" | "stdio"): Promise<unknown> {
    if (typeof code !== "string") throw new TypeError(`${op}: code must be a string`);
    const filename = options?.filename ?? (op === "eval" ? "<eval>" : "<exec>");
    if (typeof filename !== "string" || filename.length === 0 || filename.length > 1024 || filename.includes("\0")) throw new TypeError("options.filename must be a non-empty string without NUL characters");
    return this.call({ op, code, filename }, out);
  }

  private async execfile(path: string, out: "capture" | "stdio"): Promise<void> {
    if (typeof path !== "string" || path.length === 0 || path.length > 4096 || path.includes("\0")) throw new TypeError("r_execfile: path must be a non-empty string without NUL characters");
    const file = await loadPythonFile(this.hooks, path);
    if (!file) throw new ModuleNotFoundError(path, undefined);
    await this.call({ op: "exec", code: file.source, filename: file.id }, out);
  }

  private async importModule(op: "import" | "reload", name: string, out: "capture" | "stdio"): Promise<Record<string, unknown>> {
    const checked = moduleName(name, op === "import" ? "r_import" : "r_reload");
    const namespace = (await this.call({ op, name: checked }, out)) as Record<string, unknown>;
    const result: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(namespace)) {
      const tagged = value as { $callable?: string; $opaque?: string } | null;
      let member: unknown = value;
      if (tagged && typeof tagged === "object" && typeof tagged.$callable === "string") {
        // A guest function under a name host built-ins call on their own (`then`: this
        // method's own promise would adopt it and never settle) is left out (implicit-calls.ts).
        if (isImplicitCallName(key)) continue;
        // Calls into the guest, queued like any other call.
        member = (...args: unknown[]) => this.enqueue(() => this.call({ op: "call", module: checked, name: key, args: args.map((a) => toGuest(a)) }, "capture"));
      } else if (tagged && typeof tagged === "object" && typeof tagged.$opaque === "string") {
        continue;
      }
      // defineProperty: a guest name "__proto__" stays a plain own property (an assignment would set the prototype).
      Object.defineProperty(result, key, { value: member, enumerable: true, writable: true, configurable: true });
    }
    return result;
  }

  private async call(body: Record<string, unknown>, out: "capture" | "stdio"): Promise<unknown> {
    if (this.disposedReason) throw new DisposedError(this.disposedReason);
    let interpreter: Interpreter;
    try {
      interpreter = await this.started;
    } catch (error) {
      if (error instanceof DisposedError) throw error;
      this.retire("the interpreter failed to start");
      throw error;
    }
    if (this.disposedReason) throw new DisposedError(this.disposedReason);
    return this.run(body, out, interpreter);
  }

  private async run(body: Record<string, unknown>, out: "capture" | "stdio", interpreter: Interpreter): Promise<unknown> {
    const captured = { stdout: "", stderr: "" };
    if (out === "capture") this.captured = captured;
    const sink = out === "capture" ? undefined : this.stdioWriters();
    // The host's own stdio target may throw; it runs in a message handler, where a throw would end the host
    // process: the first error is kept (later output dropped) and the call rejects with it.
    let sinkError: { error: unknown } | undefined;
    this.restrictedDuringCall = undefined;
    this.stdioCall = out === "stdio";
    const outcome = await interpreter.call(body, this.limits.timeoutMs, this.limits.wallTimeMs, {
      host: (request) => this.serveHost(request),
      output: (stream, chunk) => {
        const text = this.decoder[stream].decode(chunk, { stream: true });
        if (!sink) {
          captured[stream] += text;
          return;
        }
        if (sinkError) return;
        try {
          sink[stream](text);
        } catch (error) {
          sinkError = { error };
        }
      },
    }, this.r_open === PythonRExec.prototype.r_open ? DEFAULT_OPEN_DIRS : undefined);
    // The call's output ends with it: a dangling partial UTF-8 sequence becomes U+FFFD here, not the start of
    // the next call's output.
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.decoder[stream].decode();
      if (!rest) continue;
      if (!sink) captured[stream] += rest;
      else if (!sinkError) {
        try {
          sink[stream](rest);
        } catch (error) {
          sinkError = { error };
        }
      }
    }
    const value = this.settle(outcome);
    if (sinkError) throw sinkError.error;
    return value;
  }

  private stdioWriters(): Record<"stdout" | "stderr", (text: string) => void> {
    const writer = (target: PythonOutputTarget | undefined, fallback: NodeJS.WriteStream) => {
      const t = target ?? fallback;
      return typeof t === "function" ? (text: string) => t(text) : (text: string) => void t.write(text);
    };
    return { stdout: writer(this.options.stdio?.stdout, process.stdout), stderr: writer(this.options.stdio?.stderr, process.stderr) };
  }

  /** Up to `max` bytes of `stdio.stdin` (default the host's) for an s_* call; empty = end of file. */
  private async readStdin(max: number): Promise<Uint8Array> {
    if (!this.stdioCall) return new Uint8Array(0);
    if (this.stdinRest.length === 0) {
      this.stdinIterator ??= (this.options.stdio?.stdin ?? process.stdin)[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
      const next = await this.stdinIterator.next();
      if (next.done) return new Uint8Array(0);
      this.stdinRest = typeof next.value === "string" ? Buffer.from(next.value) : new Uint8Array(next.value);
    }
    const chunk = this.stdinRest.subarray(0, Math.max(1, Math.min(max, 1 << 16)));
    this.stdinRest = this.stdinRest.subarray(chunk.length);
    return chunk;
  }

  /** A guest request: host function, module look-up, r_open. Never throws. */
  private async serveHost(request: unknown): Promise<Record<string, unknown>> {
    const { op, args, path, mode } = (request ?? {}) as { op?: unknown; args?: unknown; path?: unknown; mode?: unknown };
    try {
      if (op === "open" && typeof path === "string" && (mode === "r" || mode === "w" || mode === "a")) {
        // The worker asks only about canonical paths; a guest can forge this request itself, and r_open /
        // hostFileFor are promised canonical paths ('/data/../secret' passed a prefix check in r_open).
        if (!isCanonicalPath(path)) return { value: false };
        try {
          this.r_open(path, mode);
          const content = mode === "r" ? this.hostFileFor(path) : undefined;
          return content === undefined ? { value: true } : { value: true, content: toGuest(content) };
        } catch (error) {
          if (error instanceof RestrictedError) this.restrictedDuringCall = error;
          return { value: false };
        }
      }
      if (!Array.isArray(args)) return { error: "malformed request" };
      if (op === "call") {
        const [name, ...rest] = args as [unknown, ...unknown[]];
        const fn = typeof name === "string" ? this.hostFunctions.get(name) : undefined;
        if (!fn) return { error: `no host function ${String(name).slice(0, 100)}` };
        this.log(`host call ${String(name)}`);
        return { value: toGuest(await fn(...rest)) };
      }
      if (op === "stdin" && typeof args[0] === "number") return { value: toGuest(await this.readStdin(args[0])) };
      if (op === "find" && typeof args[0] === "string") {
        // A name the hooks cannot serve (`_sysconfigdata_…-emscripten`, which sysconfig imports for zoneinfo;
        // unicode) is simply not found: an error here failed the import instead of letting the stdlib go on.
        if (args[0].length > 512 || !MODULE_NAME.test(args[0])) return { value: null };
        const found = await findPythonModule(this.hooks, args[0]);
        return { value: found ?? null };
      }
      return { error: "unknown request" };
    } catch (error) {
      if (error instanceof RestrictedError) {
        this.restrictedDuringCall = error;
        return { restricted: error.message };
      }
      if (error instanceof CloneError) return { error: `the host's answer cannot be copied into Python: ${error.message}` };
      return { error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 1000) : "the host function failed" };
    }
  }

  /** How the call ended → its value, or its typed error (retiring the interpreter where settle.ts says so). */
  private settle(outcome: CallOutcome): unknown {
    return settleOutcome(outcome, {
      limits: this.limits,
      restricted: this.restrictedDuringCall,
      retire: (reason) => this.retire(reason),
      log: this.log,
    });
  }
}

/** For the void methods: their promise is a new one, marked handled like the queue's. */
const nothing = (): undefined => undefined;

/** The directories the default {@link PythonRExec.r_open} allows (decided in the worker when r_open is not overridden). */
const DEFAULT_OPEN_DIRS = Object.freeze(["/tmp", "/home/guest"]);
