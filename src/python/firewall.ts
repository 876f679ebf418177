/**
 * The boundary of a Python sandbox: a deny-by-default firewall on the wasm
 * import layer of Pyodide's interpreter.
 *
 * Invariant: once {@link Firewall.arm} has run, the only JavaScript the
 * interpreter's wasm can reach is the reviewed {@link ALLOW} list (syscall-like
 * functions: the in-memory file system, clocks, random, output, the interrupt
 * check, libffi/table calls) plus the wrapped `openat` (policy-checked), the
 * path syscalls (a path of PATH_MAX bytes or more is refused before emscripten
 * decodes it into the worker's heap) and
 * `proc_exit`/`exit` (which end the guest, never the host). Everything else —
 * Pyodide's whole JS FFI (`import js`, `run_js`, `to_js(...).constructor`),
 * `dlopen`/`dlsym`, `emscripten_run_script`, shell, sockets, pipes, timers —
 * throws {@link SandboxViolation} and marks the interpreter dead.
 * {@link ALWAYS_DENY} is refused even during boot.
 *
 * Why here and not in Python: every Python-level restriction is walked around
 * (`__subclasses__` → BuiltinImporter → gc/posix/ctypes; PYTHON-FACTS §5). All
 * JS the wasm can call lives in one object (emscripten's `wasmImports`, passed
 * as `imports.env`); replacing its entries in place *before instantiation*
 * also covers the function table, GOT entries and `dlsym` (PYTHON-FACTS §6).
 *
 * @packageDocumentation
 */

/** The guest reached a host import outside the allow-list (or a denied one). */
export class SandboxViolation extends Error {
  constructor(readonly what: string) {
    super(`sandbox violation: guest code reached the host import '${what}'`);
    this.name = "SandboxViolation";
  }
}

/** The guest ended the interpreter itself (`os._exit`, a fatal signal): a guest exit, never the host's. */
export class GuestProcessExit extends Error {
  constructor(readonly code: number) {
    super(`guest interpreter exited with status ${code}`);
    this.name = "GuestProcessExit";
  }
}

/** Emscripten's errno numbering (negative return values of syscalls). */
const ERRNO = { EACCES: 2, ENOSYS: 52, ENOSPC: 51, ENAMETOOLONG: 37 } as const;

/**
 * Imports the armed interpreter may call, untouched (no wrapper cost). Measured
 * with an auditing firewall over Pyodide's test-like workloads (PYTHON-FACTS §6).
 * Reviewed: none of them evaluates code, reaches the network, the host file
 * system (the FS is emscripten's in-memory one) or a JS object graph.
 */
export const ALLOW: ReadonlySet<string> = new Set(`
environ_sizes_get environ_get fd_close fd_read fd_write clock_res_get clock_time_get fd_sync random_get
fd_fdstat_get fd_seek fd_pread fd_pwrite
__syscall_fcntl64 __syscall_faccessat __syscall_chdir __syscall_chmod __syscall_fchownat __syscall_dup
__syscall_dup3 __syscall_fchdir __syscall_fchmod __syscall_fchmodat2 __syscall_fchown32 __syscall_fdatasync
__syscall_fstat64 __syscall_stat64 __syscall_newfstatat __syscall_lstat64 __syscall_ftruncate64 __syscall_getcwd
__syscall_getdents64 __syscall_mkdirat __syscall_mknodat __syscall_poll __syscall_fadvise64 __syscall_fallocate
__syscall_readlinkat __syscall_unlinkat __syscall_rmdir __syscall_renameat __syscall_statfs64 __syscall_fstatfs64
__syscall_symlinkat __syscall_truncate64 __syscall_utimensat __syscall_getuid32_js __syscall_umask_js __syscall_ioctl
_tzset_js _timegm_js _mktime_js _localtime_js _gmtime_js emscripten_date_now emscripten_get_now
emscripten_resize_heap emscripten_get_heap_max _munmap_js _msync_js _mmap_js _abort_js __assert_fail
emscripten_runtime_keepalive_push emscripten_runtime_keepalive_pop _emscripten_runtime_keepalive_clear
_emscripten_get_progname _Py_emscripten_runtime _Py_CheckEmscriptenSignals_Helper _PyEM_TrampolineCall_JS
__call_sighandler ffi_call_js ffi_closure_alloc_js ffi_closure_free_js ffi_prep_closure_loc_js
JsvError_Check Jsv_GetError_import can_run_sync_js
`.trim().split(/\s+/));

/**
 * Refused in every phase, boot included. A number is what the guest gets back
 * (a negative errno, 0 or -1); `"throw"` kills the interpreter.
 */
export const ALWAYS_DENY: Readonly<Record<string, number | "throw">> = {
  _emscripten_system: -1, // os.system: emscripten would run a real host shell (child_process)
  __syscall_socket: -ERRNO.EACCES, __syscall_connect: -ERRNO.EACCES, __syscall_bind: -ERRNO.EACCES,
  __syscall_listen: -ERRNO.EACCES, __syscall_accept4: -ERRNO.EACCES, __syscall_sendto: -ERRNO.EACCES,
  __syscall_recvfrom: -ERRNO.EACCES, __syscall_sendmsg: -ERRNO.EACCES, __syscall_recvmsg: -ERRNO.EACCES,
  __syscall_getsockopt: -ERRNO.EACCES, __syscall_getpeername: -ERRNO.EACCES, __syscall_getsockname: -ERRNO.EACCES,
  __syscall_setsockopt: -ERRNO.EACCES, __syscall_shutdown: -ERRNO.EACCES, __syscall_socketpair: -ERRNO.EACCES,
  _maybe_connect_async: "throw", _maybe_recvfrom_async: "throw", _maybe_sendto_async: "throw",
  _maybe_poll_async: "throw", _try_shutdown: "throw",
  __syscall_pipe: -ERRNO.EACCES, // pipe buffers live in the JS heap, outside every cap
  _setitimer_js: -ERRNO.ENOSYS, // a host timer would re-enter Python outside any call
  _dlopen_js: 0, _emscripten_dlopen_js: "throw", _dlsym_js: 0, _dlsym_catchup_js: 0, // dlsym hands out any import
  emscripten_run_script: "throw", emscripten_run_script_int: "throw", emscripten_run_script_string: "throw",
  emscripten_async_run_script: "throw", emscripten_create_worker: "throw", emscripten_debugger: 0,
  getaddrinfo: -2, getnameinfo: -2, _emscripten_lookup_name: 0,
  // Pyodide asks it before every fcntl (os.dup among them) whether the descriptor is a socket. No guest socket
  // exists, so "not a socket" (0) is the truth and lets fcntl go on to the file system; as a violation it
  // killed the sandbox on os.dup.
  _try_fcntl64: 0,
};

/** Denied names remembered in {@link Firewall.violations}: a guest calling socket() in a loop must not grow it without bound. */
export const MAX_VIOLATIONS_KEPT = 100;

/**
 * Allowed syscalls that take paths, and which arguments are path pointers.
 * Emscripten decodes each into a JS string (then splits and normalises it) in
 * the worker's heap, outside the wasm memory cap, with no length limit: a
 * 120 MB path to `os.stat` ran the worker out of heap, and V8's fatal OOM
 * aborted the whole host process. After arming, a path of PATH_MAX bytes or
 * more answers ENAMETOOLONG before anything decodes it (as Linux does).
 */
export const PATH_ARGUMENTS: Readonly<Record<string, readonly number[]>> = {
  __syscall_openat: [1], __syscall_faccessat: [1], __syscall_chdir: [0], __syscall_chmod: [0], __syscall_fchownat: [1],
  __syscall_fchmodat2: [1], __syscall_stat64: [0], __syscall_newfstatat: [1], __syscall_lstat64: [0], __syscall_mkdirat: [1],
  __syscall_mknodat: [1], __syscall_readlinkat: [1], __syscall_unlinkat: [1], __syscall_rmdir: [0], __syscall_renameat: [1, 3],
  __syscall_statfs64: [0], __syscall_symlinkat: [0, 2], __syscall_truncate64: [0], __syscall_utimensat: [1],
};

/**
 * Syscalls that create, move or remove a node without an `openat`: each named path ([dirfd argument or null
 * for the cwd, path argument]) passes r_open as a write, judged as the node itself (its parent's links
 * resolved, not its own). Without this, rename, mkdir and symlink put nodes where r_open allows no writes.
 */
const MUTATED_PATHS: Readonly<Record<string, readonly (readonly [number | null, number])[]>> = {
  __syscall_mkdirat: [[0, 1]], __syscall_mknodat: [[0, 1]], __syscall_unlinkat: [[0, 1]], __syscall_rmdir: [[null, 0]],
  __syscall_renameat: [[0, 1], [2, 3]], __syscall_symlinkat: [[1, 2]],
};

/** Linux's PATH_MAX: bytes of a path, its terminating NUL included. */
export const PATH_MAX = 4096;

/** Open flags, as emscripten's libc defines them. */
const O_ACCMODE = 3;
const O_WRONLY = 1;
const O_APPEND = 0o2000;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;

/**
 * The mode an `openat` asks for, in r_open's terms. A read-only open that
 * creates or truncates changes the file system: a write, whatever its access mode.
 */
export function openMode(flags: number): "r" | "w" | "a" {
  if ((flags & O_ACCMODE) === 0 && (flags & (O_CREAT | O_TRUNC)) === 0) return "r";
  return flags & O_APPEND ? "a" : "w";
}

/** What the firewall needs from the emscripten module once it exists. */
export interface FirewallModule {
  UTF8ToString(ptr: number): string;
  /** The interpreter's memory as bytes now (a new view after every growth). */
  heap(): Uint8Array;
  FS: {
    cwd(): string;
    getStream(fd: number): { path: string } | undefined | null;
    lookupPath(path: string, options: { follow: boolean }): { path: string };
    readlink(path: string): string;
  };
  PATH: { normalize(path: string): string };
}

/** The decision for one `openat` after arming: `true` allows, `false` answers EACCES. */
export type OpenCheck = (absolutePath: string, flags: number) => boolean;

/** State of one interpreter's firewall. */
export interface Firewall {
  /** Wrap `imports.env` in place; pass as `instantiateWasm`'s import object. */
  wrapImports(imports: { env: Record<string, unknown> }): typeof imports;
  /** Give the firewall the module (for paths); before arming. */
  attach(module: FirewallModule): void;
  /** One-way: from now on only ALLOW (and the wrapped imports) work. */
  arm(): void;
  /** The first violation or guest exit after arming, if any: the interpreter is dead. */
  readonly death: SandboxViolation | GuestProcessExit | undefined;
  /** Names of denied imports the guest reached, the first {@link MAX_VIOLATIONS_KEPT} (for reports and tests). */
  readonly violations: readonly string[];
}

/**
 * A firewall for one interpreter. `open` decides every `openat` once armed.
 * `disabled` exists for one purpose: the hostile tests run the same attacks
 * against an unprotected interpreter to show each attack works there.
 */
export function makeFirewall(open: OpenCheck, options: { disabledForTests?: boolean; onDeath?: (death: SandboxViolation | GuestProcessExit) => void } = {}): Firewall {
  let armed = false;
  let module: FirewallModule | undefined;
  let death: SandboxViolation | GuestProcessExit | undefined;
  const violations: string[] = [];
  // Bounded: the list lives in the worker's JS heap and a guest decides how often it is added to.
  const remember = (name: string) => { if (violations.length < MAX_VIOLATIONS_KEPT) violations.push(name); };
  const disabled = options.disabledForTests === true;

  // The first death is reported at once: the guest may catch the exception
  // and go on, but its interpreter is already condemned (the host stops it).
  const die = (error: SandboxViolation | GuestProcessExit): never => {
    if (!death) {
      death = error;
      options.onDeath?.(error);
    }
    throw error;
  };
  const deny = (name: string): never => {
    remember(name);
    return die(new SandboxViolation(name));
  };

  /**
   * The canonical path r_open decides on: absolute, normalised, symlinks
   * resolved (a guest symlink /tmp/x → /dev/tty must be judged as /dev/tty).
   * For a file that does not exist yet, its parent is resolved.
   */
  function resolvePath(dirfd: number, pathPtr: number, follow = true): string {
    const M = module!;
    const raw = M.UTF8ToString(pathPtr >>> 0);
    const base = dirfd === -100 ? M.FS.cwd() : (M.FS.getStream(dirfd)?.path ?? "/");
    return resolveString(M.PATH.normalize(raw.startsWith("/") ? raw : `${base}/${raw}`), follow, 0);
  }

  /**
   * `path` (absolute, normalised) with its parent's symlinks resolved, and its last component too when
   * `follow` — a dangling symlink is judged as its target, which is where an O_CREAT open creates the file
   * (judged as the link, /tmp/l -> /home/x created /home/x with r_open asked about /tmp/l). `follow` false:
   * the node itself (a rename, mkdir or unlink acts on the link, not its target).
   */
  function resolveString(path: string, follow: boolean, depth: number): string {
    const M = module!;
    if (follow) {
      try {
        return M.FS.lookupPath(path, { follow: true }).path;
      } catch {
        // Missing, or a dangling link: below.
      }
    }
    const slash = path.lastIndexOf("/");
    let real: string;
    try {
      real = M.PATH.normalize(`${M.FS.lookupPath(path.slice(0, slash) || "/", { follow: true }).path}/${path.slice(slash + 1)}`);
    } catch {
      return path;
    }
    if (!follow) return real;
    let target: string;
    try {
      target = M.FS.readlink(real);
    } catch {
      return real; // not a link: a file to be created
    }
    // Emscripten follows at most 40 links; beyond a few, refuse to guess.
    if (depth >= 8) return "/dev/rexec-unresolvable-link";
    const parent = real.slice(0, real.lastIndexOf("/")) || "/";
    return resolveString(M.PATH.normalize(target.startsWith("/") ? target : `${parent}/${target}`), true, depth + 1);
  }

  /** True if one of `args`' path pointers (per {@link PATH_ARGUMENTS}) has no NUL within PATH_MAX bytes. */
  function pathTooLong(positions: readonly number[], args: ArrayLike<unknown>): boolean {
    const heap = module!.heap();
    for (const position of positions) {
      const ptr = Number(args[position]) >>> 0;
      if (ptr === 0) continue; // NULL: emscripten's own handling (EFAULT/ENOENT), nothing long to decode
      if (heap.subarray(ptr, ptr + PATH_MAX).indexOf(0) === -1) return true;
    }
    return false;
  }

  function wrapImports(imports: { env: Record<string, unknown> }): typeof imports {
    const table = imports.env; // === imports.wasi_snapshot_preview1 === emscripten's wasmImports
    for (const name of Object.keys(table)) {
      const original = table[name];
      if (typeof original !== "function") continue;
      let wrapper: (this: unknown, ...args: any[]) => unknown;
      if (disabled) {
        continue;
      } else if (Object.hasOwn(ALWAYS_DENY, name)) {
        const answer = ALWAYS_DENY[name]!;
        wrapper = answer === "throw" ? () => deny(name) : () => { remember(name); return answer; };
      } else if (name === "proc_exit" || name === "exit") {
        // os._exit / abort-like paths: end the guest with its status; emscripten's
        // own handler would set the (worker) process's exit code and quit.
        wrapper = function (this: unknown, code: number) {
          if (!armed) return (original as Function).call(this, code);
          return die(new GuestProcessExit(Number(code) | 0));
        };
      } else if (name === "__syscall_openat") {
        wrapper = function (this: unknown, dirfd: number, pathPtr: number, flags: number, varargs: number) {
          if (armed && pathTooLong(PATH_ARGUMENTS[name]!, arguments)) return -ERRNO.ENAMETOOLONG;
          if (armed && !open(resolvePath(dirfd, pathPtr), flags)) return -ERRNO.EACCES;
          return (original as Function).call(this, dirfd, pathPtr, flags, varargs);
        };
      } else if (ALLOW.has(name) && Object.hasOwn(PATH_ARGUMENTS, name)) {
        const positions = PATH_ARGUMENTS[name]!;
        const mutated = MUTATED_PATHS[name];
        wrapper = function (this: unknown, ...args: unknown[]) {
          if (armed && pathTooLong(positions, args)) return -ERRNO.ENAMETOOLONG;
          if (armed && mutated?.some(([dirfd, path]) => !open(resolvePath(dirfd === null ? -100 : Number(args[dirfd]), Number(args[path]), false), O_WRONLY | O_CREAT))) return -ERRNO.EACCES;
          return (original as Function).apply(this, args);
        };
      } else if (ALLOW.has(name)) {
        continue;
      } else {
        wrapper = function (this: unknown, ...args: unknown[]) {
          if (armed) return deny(name);
          return (original as Function).apply(this, args);
        };
      }
      Object.assign(wrapper, original); // keep `.sig` and friends: addFunction / GOT need them
      table[name] = wrapper;
    }
    return imports;
  }

  return {
    wrapImports,
    attach(m) { module = m; },
    arm() { armed = true; },
    get death() { return death; },
    get violations() { return violations; },
  };
}
