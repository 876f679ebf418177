/**
 * Worker side of a Python sandbox: exactly one interpreter per worker thread.
 *
 * Invariants:
 * - The firewall (firewall.ts) wraps the wasm imports before instantiation and
 *   is armed before any guest code runs; after arming this file never calls
 *   Pyodide's FFI (no `runPython`, no PyProxy): it runs one fixed line through
 *   the C API and exchanges bytes through three devices.
 * - Every `openat` passes the fixed interpreter allow-list or the host's
 *   `r_open`; the in-memory file system is charged against byte and file quotas
 *   (its data lives in the JS heap, outside the wasm memory cap).
 * - Output and results are bounded here, before anything reaches the host thread.
 * - The host thread owns the hard stop: it terminates this thread at the
 *   deadline, so nothing here has to be trusted to return.
 *
 * @packageDocumentation
 */
import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import { makeFirewall, openMode, type Firewall, SandboxViolation, GuestProcessExit } from "./firewall.js";
import { BOOT_PY, RUN_LINE, SNAPSHOT_IMPORTS } from "./boot-py.js";
import { fromGuest } from "./codec.js";
import { wasmApi } from "./pyodide-files.js";
import { askThroughExchange, exchangeCapacity } from "./host-exchange.js";
import { sealReadOnlyTrees } from "./fs-seal.js";
import type { BootData, CallReply, CallRequest, FromWorker, ToWorker } from "./py-protocol.js";

// Pyodide reports some failures on the console; in this thread that is never
// guest output (which goes through the capped sink), and it must not reach the
// host's terminal. (Piped worker stdio would keep the host process alive.)
if (!process.env.REXEC_PYTHON_DEBUG) {
  for (const name of ["log", "info", "warn", "error", "debug", "trace"] as const) console[name] = () => {};
}

const data = workerData as BootData;
const port = parentPort!;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Paths the interpreter itself needs, granted without asking the host (read-only where it says so). */
function fixedOpen(path: string, mode: "r" | "w" | "a"): boolean | undefined {
  if (path === "/lib/python314.zip" || path.startsWith("/lib/python314.zip/") || path === "/lib/python3.14" || path.startsWith("/lib/python3.14/")) return mode === "r";
  if (path === "/dev/rexec_in" || path === "/dev/rexec_out" || path === "/dev/rexec_host") return true;
  if (path === "/dev/null" || path === "/dev/urandom" || path === "/dev/random") return true;
  // The terminal would write to the worker's console, around the output cap.
  if (path.startsWith("/dev/") || path.startsWith("/proc/")) return false;
  return undefined;
}

/** "out" messages posted so far (see HostWord.OUT_POSTED). */
let outPosted = 0;

/** Blocks this thread until the host thread answers (or terminates it). */
function askHost(request: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(decoder.decode(askHostJson(encoder.encode(JSON.stringify(request))))) as Record<string, unknown>;
}

/**
 * The same in JSON both ways: a guest's host call is passed on unparsed (the
 * host checks it) and its reply, JSON the host made, goes back as it came.
 */
function askHostJson(request: Uint8Array): Uint8Array {
  if (request.length > exchangeCapacity(data.hostReply)) return encoder.encode(JSON.stringify({ error: `the request is larger than limits.resultBytes (${data.resultBytes} bytes)` }));
  const started = performance.now();
  const reply = askThroughExchange(data.hostReply, request, outPosted);
  // Time spent waiting on the host is not guest CPU time.
  call.deadline += performance.now() - started;
  return reply;
}

/** State of the running call. */
const call = {
  /**
   * Between calls no Python may run (a late finalizer would run guest
   * `__del__` outside any deadline): -Infinity makes its first interrupt
   * check raise KeyboardInterrupt. Boot runs before the interrupt buffer is set.
   */
  deadline: Number.NEGATIVE_INFINITY,
  lastInterrupt: 0,
  outputBytes: 0,
  outputExceeded: false,
  resultExceeded: false,
  denied: undefined as { path: string; mode: string } | undefined,
  openDirs: undefined as readonly string[] | undefined,
  request: new Uint8Array(0),
  response: [] as Uint8Array[],
  responseBytes: 0,
};

let firewall: Firewall;

function checkOpen(path: string, flags: number): boolean {
  const mode = openMode(flags);
  const fixed = fixedOpen(path, mode);
  let allowed: boolean;
  if (fixed !== undefined) allowed = fixed;
  else if (call.openDirs) allowed = call.openDirs.some((dir) => path === dir || path.startsWith(`${dir}/`));
  else {
    const reply = askHost({ op: "open", path, mode });
    allowed = reply.value === true;
    // A host file the policy mirrors into the guest (PythonRExec.hostFileFor): written into
    // the in-memory FS first, charged to its quota; a failure is a refusal.
    if (allowed && reply.content !== undefined) allowed = mirror(path, fromGuest(reply.content));
  }
  if (!allowed) call.denied = { path, mode };
  return allowed;
}

let fileSystem: any;

function mirror(path: string, content: unknown): boolean {
  if (!(content instanceof Uint8Array)) return false;
  try {
    if (fileSystem.analyzePath(path).exists) return true;
    fileSystem.mkdirTree(path.slice(0, path.lastIndexOf("/")) || "/");
    fileSystem.writeFile(path, content);
    return true;
  } catch {
    return false;
  }
}

const T0 = performance.now();
const mark = (what: string) => { if (process.env.REXEC_PYTHON_DEBUG) console.error(`[py-worker] ${what} at ${(performance.now() - T0).toFixed(0)} ms`); };

async function boot(): Promise<void> {
  mark("entry");
  firewall = makeFirewall(checkOpen, {
    disabledForTests: data.unsafeNoFirewall === true,
    onDeath: (death) => port.postMessage({ t: "death", reply: deathReply(death) } satisfies FromWorker),
  });
  // By file URL: this module may run as a bundle without package resolution (worker-script.ts).
  const { loadPyodide } = (await import(pathToFileURL(`${data.pyodideDir}/pyodide.mjs`).href)) as typeof import("pyodide");
  mark("pyodide imported");
  // Pyodide's own helper for Jsv_GetError_import / JsvError_Check, in the JS
  // form it uses itself when wasm GC is unavailable (Node 20).
  const marker = Symbol("error marker");
  let memory: WebAssembly.Memory | undefined;
  const factory = (await import(pathToFileURL(`${data.pyodideDir}/pyodide.asm.mjs`).href)).default as (settings: Record<string, unknown>) => unknown;
  const py = (await loadPyodide({
    indexURL: `${data.pyodideDir}/`,
    jsglobals: Object.create(null),
    env: { HOME: "/home/guest", PYTHONHASHSEED: "0" },
    _sysExecutable: "/usr/bin/python3",
    ...(data.snapshot ? { _loadSnapshot: data.snapshot } : { _makeSnapshot: true }),
    stdout: () => {},
    stderr: () => {},
    createPyodideModule: (settings: Record<string, unknown>) => {
      settings.instantiateWasm = (imports: { env: Record<string, unknown> }, done: (instance: unknown, module: WebAssembly.Module) => void) => {
        imports.env.Jsv_GetError_import = () => marker;
        imports.env.JsvError_Check = (value: unknown) => value === marker;
        const wrapped = data.snapshot ? firewall.wrapImports(imports) : imports;
        void wasmApi.instantiate(data.wasmModule, wrapped).then((instance) => {
          memory = instance.exports.memory as WebAssembly.Memory;
          done(instance, data.wasmModule);
        });
        return {};
      };
      return factory(settings);
    },
  } as never)) as any;

  if (!data.snapshot) {
    // Snapshot maker: the runner and common modules, then the image.
    py.runPython(BOOT_PY, { filename: "<rexec>" });
    py.runPython(SNAPSHOT_IMPORTS);
    const image = py.makeMemorySnapshot() as Uint8Array;
    port.postMessage({ t: "snapshot", image } satisfies FromWorker, [image.buffer as ArrayBuffer]);
    return;
  }

  mark("loaded");
  const M = py._module;
  const FS = py.FS;
  fileSystem = FS;
  firewall.attach({ UTF8ToString: (p) => M.UTF8ToString(p), heap: () => new Uint8Array(memory!.buffer), FS, PATH: py.PATH ?? M.PATH });
  installQuotas(py, data.fsQuotaBytes, data.maxFiles);
  const seal = sealReadOnlyTrees(FS);
  installDevices(FS);
  const sink = (stream: "stdout" | "stderr") => ({
    write(buffer: Uint8Array): number {
      // An empty write is charged nothing, so it must send nothing (one message per os.write(1, b'') let a guest
      // keep the host thread busy for its whole timeoutMs).
      if (buffer.length === 0) return 0;
      const room = data.outputBytes - call.outputBytes;
      call.outputBytes += buffer.length;
      if (room > 0) {
        port.postMessage({ t: "out", stream, chunk: buffer.slice(0, room) } satisfies FromWorker);
        outPosted++;
      }
      if (buffer.length > room) call.outputExceeded = true;
      return buffer.length;
    },
  });
  py.setStdout(sink("stdout"));
  py.setStderr(sink("stderr"));
  // Guest stdin: the host answers from `stdio.stdin` during s_* calls, end of file otherwise.
  py.setStdin({
    read(buffer: Uint8Array): number {
      const reply = askHost({ op: "stdin", args: [Math.min(buffer.length, 1 << 16)] });
      const bytes = reply.value === undefined ? undefined : fromGuest(reply.value);
      if (!(bytes instanceof Uint8Array)) return 0;
      const n = Math.min(bytes.length, buffer.length);
      buffer.set(bytes.subarray(0, n));
      return n;
    },
  });
  FS.mkdirTree("/home/guest");
  FS.mkdirTree("/tmp");
  // The soft stop: the interpreter reads [0] at each check; a getter turns the
  // deadline (and an output flood) into KeyboardInterrupt, every 50 ms at most.
  py.setInterruptBuffer({
    get 0() {
      const now = performance.now();
      if ((now > call.deadline || call.outputExceeded) && now - call.lastInterrupt > 50) {
        call.lastInterrupt = now;
        return 2;
      }
      return 0;
    },
    set 0(_value: number) {},
  });
  const runLine: number = M.stringToNewUTF8(RUN_LINE);
  // Nothing of Pyodide's JS API is used from here on.
  seal();
  firewall.arm();
  const run = () => M._PyRun_SimpleString(runLine) as number;
  port.on("message", (message: ToWorker) => {
    if (message.t !== "call") return;
    const reply = serve(message.request, run, memory!);
    port.postMessage({ t: "done", reply } satisfies FromWorker);
  });
  port.postMessage({ t: "ready", memoryBytes: memory!.buffer.byteLength } satisfies FromWorker);
}

function deathReply(death: SandboxViolation | GuestProcessExit): CallReply {
  const base = { outputExceeded: call.outputExceeded, timedOut: false, denied: undefined, memoryBytes: 0 };
  return death instanceof GuestProcessExit ? { ...base, kind: "exit", code: death.code, ended: true } : { ...base, kind: "violation", detail: death.what };
}

function serve(request: CallRequest, run: () => number, memory: WebAssembly.Memory): CallReply {
  call.request = encoder.encode(JSON.stringify(request.body));
  call.response = [];
  call.responseBytes = 0;
  call.resultExceeded = false;
  call.outputBytes = 0;
  call.outputExceeded = false;
  call.denied = undefined;
  call.openDirs = request.openDirs;
  call.lastInterrupt = 0;
  call.deadline = performance.now() + request.timeoutMs;
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  const timedOut = performance.now() > call.deadline;
  call.deadline = Number.NEGATIVE_INFINITY;
  const base = { outputExceeded: call.outputExceeded, timedOut, denied: call.denied, memoryBytes: memory.buffer.byteLength };
  const death = firewall.death;
  if (death) return { ...base, ...deathReply(death) };
  if (thrown !== undefined) {
    const text = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : typeof thrown;
    const stack = thrown instanceof RangeError && /call stack/i.test(thrown.message);
    return { ...base, kind: "fatal", detail: text.slice(0, 300), stack };
  }
  if (call.resultExceeded) return { ...base, kind: "result-too-large" };
  if (call.responseBytes === 0) return { ...base, kind: "fatal", detail: "the guest's runner gave no answer (replaced or removed by guest code)", stack: false };
  try {
    const text = decoder.decode(Buffer.concat(call.response));
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if (parsed.ok === true) return { ...base, kind: "ok", value: fromGuest(parsed.value) };
    // An exit code no process could have (SystemExit(10**100)) is still an exit: a failing one, as CPython's.
    if (typeof parsed.exit === "number") return { ...base, kind: "exit", code: Number.isSafeInteger(parsed.exit) ? parsed.exit : 1, ended: false };
    const frames = Array.isArray(parsed.frames)
      ? parsed.frames.slice(-100).filter((f): f is [string, number, string] => Array.isArray(f) && typeof f[0] === "string" && typeof f[1] === "number" && typeof f[2] === "string")
        .map(([file, line, name]) => ({ file: file.slice(0, 300), line, name: name.slice(0, 200) }))
      : [];
    return {
      ...base,
      kind: "exception",
      name: typeof parsed.name === "string" ? parsed.name.slice(0, 200) : "Exception",
      message: typeof parsed.message === "string" ? parsed.message.slice(0, 4000) : "",
      frames,
      restricted: parsed.restricted === true,
    };
  } catch (error) {
    return { ...base, kind: "malformed", detail: error instanceof Error ? error.message.slice(0, 200) : "unreadable" };
  }
}

interface DeviceStream { rexec?: { position: number; chunks: Uint8Array[]; length: number; reply?: Uint8Array } }

function installDevices(FS: any): void {
  const device = (major: number, path: string, ops: { read?: (s: DeviceStream, b: Uint8Array, o: number, n: number) => number; write?: (s: DeviceStream, b: Uint8Array, o: number, n: number) => number; close?: (s: DeviceStream) => void }) => {
    const id = FS.makedev(major, 0);
    // Majors from Linux's local-use range: 64-66 were emscripten's /dev/random, /dev/urandom (and
    // another device), whose ops registering over them replaced (reads of /dev/random gave the request).
    if (FS.devices?.[id]) throw new Error(`device ${major} is taken`);
    FS.registerDevice(id, {
      open(stream: DeviceStream) { stream.rexec = { position: 0, chunks: [], length: 0 }; },
      close: ops.close ?? (() => {}),
      read: ops.read ?? (() => { throw new FS.ErrnoError(28); }),
      write: ops.write ?? (() => { throw new FS.ErrnoError(28); }),
    });
    FS.mkdev(path, 0o666, id);
  };
  // Emscripten hands devices views of HEAP8 (signed): copy bytes through unsigned views.
  const bytesOf = (buffer: ArrayBufferView, offset: number, length: number) => new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length).slice();
  const readFrom = (bytes: Uint8Array, stream: DeviceStream, target: ArrayBufferView, offset: number, length: number) => {
    const buffer = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
    const state = stream.rexec!;
    const n = Math.max(0, Math.min(length, bytes.length - state.position));
    buffer.set(bytes.subarray(state.position, state.position + n), offset);
    state.position += n;
    return n;
  };
  // The terminal devices: emscripten's TTY keeps a line in a JS array until a newline (300 MB without
  // one ran the worker out of heap and aborted the host process) and writes to the worker's console.
  // Refused by device number, so a node renamed into /tmp (rename passes no r_open) is refused too.
  const refuse = () => { throw new FS.ErrnoError(2 /* EACCES */); };
  for (const id of [FS.makedev(5, 0), FS.makedev(6, 0)]) FS.registerDevice(id, { open: refuse, close() {}, read: refuse, write: refuse });
  device(240, "/dev/rexec_in", { read: (stream, buffer, offset, length) => readFrom(call.request, stream, buffer, offset, length) });
  device(241, "/dev/rexec_out", {
    write(_stream, buffer, offset, length) {
      // Over the cap: keep nothing, remember it (the host reports resultBytes).
      if (call.resultExceeded || call.responseBytes + length > data.resultBytes) {
        call.resultExceeded = true;
        call.response = [];
      } else call.response.push(bytesOf(buffer, offset, length));
      call.responseBytes += length;
      return length;
    },
  });
  // Request bytes held by ALL descriptors of /dev/rexec_host together (ArrayBuffers: outside the
  // worker's heap limit and the wasm cap): one resultBytes budget, not one per descriptor.
  let held = 0;
  const release = (stream: DeviceStream) => {
    held -= stream.rexec?.length ?? 0;
    stream.rexec = { position: 0, chunks: [], length: 0 };
  };
  device(242, "/dev/rexec_host", {
    write(stream, buffer, offset, length) {
      // A write after an answer starts the next request (the runner keeps one descriptor open).
      if (stream.rexec!.reply) release(stream);
      const state = stream.rexec!;
      if (held + length > data.resultBytes) {
        release(stream);
        throw new FS.ErrnoError(22 /* EFBIG (27 would be EINTR: retried forever) */);
      }
      state.length += length;
      held += length;
      state.chunks.push(bytesOf(buffer, offset, length));
      return length;
    },
    close: release,
    read(stream, buffer, offset, length) {
      const state = stream.rexec!;
      if (!state.reply) {
        const answer = askHostJson(Buffer.concat(state.chunks));
        // The request's bytes are done with; the reply (at most the host's reply buffer) takes their place.
        held -= state.length;
        state.chunks = [];
        state.reply = answer;
        state.length = 0;
      }
      return readFrom(state.reply, stream, buffer, offset, length);
    },
  });
}

/** MEMFS byte and inode quotas (file data lives in the JS heap, outside the wasm cap). */
function installQuotas(py: any, quotaBytes: number, maxFiles: number): void {
  const FS = py.FS;
  const MEMFS = FS.filesystems.MEMFS;
  const ENOSPC = 51;
  const ENAMETOOLONG = 37;
  const NAME_MAX = 255;
  const PATH_MAX = 4096;
  let used = 0;
  let files = 0;
  const size = (node: { contents?: { length: number } | null }) => node.contents?.length ?? 0;
  const charge = (delta: number) => {
    if (delta > 0 && used + delta > quotaBytes) throw new FS.ErrnoError(ENOSPC);
    used += delta;
  };
  const fileOps = MEMFS.ops_table.file.stream;
  const write = fileOps.write;
  fileOps.write = function (this: unknown, stream: any, buffer: Uint8Array, offset: number, length: number, position: number, canOwn: boolean) {
    const node = stream.node;
    const before = size(node);
    const need = Math.max(before, position + length);
    charge(need - before);
    const result = write.call(this, stream, buffer, offset, length, position, canOwn);
    used += size(node) - need;
    return result;
  };
  const resize = MEMFS.resizeFileStorage;
  MEMFS.resizeFileStorage = function (this: unknown, node: any, newSize: number) {
    charge(newSize - size(node));
    return resize.call(this, node, newSize);
  };
  const dirOps = MEMFS.ops_table.dir.node;
  for (const op of ["mknod", "symlink"]) {
    const original = dirOps[op];
    dirOps[op] = function (this: unknown, parent: unknown, name: string, ...rest: unknown[]) {
      if (files + 1 > maxFiles || String(name).length > NAME_MAX) throw new FS.ErrnoError(ENOSPC);
      // A link's target is a JS string outside the byte quota: unbounded, a few 40 MiB targets ran the
      // worker out of heap, and V8's fatal OOM aborted the whole host process.
      if (op === "symlink" && String(rest[0]).length > PATH_MAX) throw new FS.ErrnoError(ENAMETOOLONG);
      files++;
      return original.call(this, parent, name, ...rest);
    };
  }
  // A node unlinked while a descriptor still holds it keeps its bytes (and can grow them): they are given back
  // only when its last descriptor closes. (Freed at unlink, 40 open-and-unlinked files of 20 MB grew the host's
  // RSS by ~750 MB in a second under a 32 MiB quota.)
  const orphans = new Set<unknown>();
  const isOpen = (node: unknown) => FS.streams.some((stream: { node?: unknown } | null) => stream?.node === node);
  const dropped = (node: unknown) => {
    if (isOpen(node)) orphans.add(node);
    else used -= size(node as { contents?: { length: number } | null });
    files = Math.max(0, files - 1);
  };
  // rename (a directory's op) gives a node a new name, a JS string, without mknod's check: the same bound.
  // A node it replaces leaves the tree like an unlinked one (it kept its charge forever: write-then-os.replace
  // filled the quota with one live file).
  const rename = dirOps.rename;
  dirOps.rename = function (this: unknown, node: unknown, newDir: any, newName: string) {
    if (String(newName).length > NAME_MAX) throw new FS.ErrnoError(ENAMETOOLONG);
    const replaced = Object.hasOwn(newDir.contents ?? {}, newName) ? newDir.contents[newName] : undefined;
    const result = rename.call(this, node, newDir, newName);
    if (replaced && replaced !== node) dropped(replaced);
    return result;
  };
  for (const op of ["unlink", "rmdir"]) {
    const original = dirOps[op];
    dirOps[op] = function (this: unknown, parent: any, name: string) {
      const node = Object.hasOwn(parent.contents ?? {}, name) ? parent.contents[name] : undefined;
      const result = original.call(this, parent, name);
      if (node) dropped(node);
      return result;
    };
  }
  // Every close (close, dup2 over an open descriptor, a failed open) ends in closeStream.
  const closeStream = FS.closeStream;
  FS.closeStream = function (this: unknown, fd: number) {
    const node = FS.streams[fd]?.node;
    const result = closeStream.call(this, fd);
    if (node && orphans.has(node) && !isOpen(node)) {
      orphans.delete(node);
      used -= size(node);
    }
    return result;
  };
}

boot().catch((error: unknown) => {
  port.postMessage({ t: "failed", detail: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : "boot failed" } satisfies FromWorker);
});
