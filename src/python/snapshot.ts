/**
 * The memory snapshot every Python interpreter starts from: a booted CPython
 * with the runner (boot-py.ts) and common modules already loaded, so a new
 * interpreter restores memory instead of booting (~2.4 s cold, PYTHON-FACTS §2).
 *
 * Made once per process in a throwaway worker (never in the host thread: the
 * boot would block its event loop for seconds), and cached on disk.
 *
 * Disk cache trust: a snapshot is the interpreter's whole memory, so whoever
 * can write the file controls the interpreter. That is no more than any guest
 * can already do (the firewall, applied when the snapshot is *loaded*, is the
 * boundary, and it is not in the file); still, rexec only reads a cached file
 * that (1) lies in a directory owned by this user and writable by no one else,
 * (2) is itself owned by this user and not group/world-writable, (3) matches the
 * SHA-256 in its side file (catches truncation and corruption), and whose name
 * carries the Pyodide version, the Node version and a hash of the runner
 * source. Anything else is ignored and rebuilt. `REXEC_PYTHON_CACHE=0`
 * disables the disk cache; `REXEC_PYTHON_CACHE=<dir>` moves it.
 *
 * @packageDocumentation
 */
import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { BOOT_PY, SNAPSHOT_IMPORTS } from "./boot-py.js";
import { cappedModule, pyodideDirectory, PYODIDE_VERSION } from "./pyodide-files.js";
import type { BootData, FromWorker } from "./py-protocol.js";
import { pythonWorkerScript } from "./worker-script.js";

let made: Promise<Uint8Array> | undefined;

/** The process's snapshot (from the disk cache when a trusted one exists). */
export function pythonSnapshot(): Promise<Uint8Array> {
  made ??= load().then(shared);
  made.catch(() => (made = undefined));
  return made;
}

/**
 * The image in shared memory: every interpreter's worker then reads the same
 * bytes instead of receiving its own ~30 MB copy (which workerData would keep
 * alive for the worker's life). Workers only read it.
 */
function shared(image: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new SharedArrayBuffer(image.byteLength));
  copy.set(image);
  return copy;
}

function cacheKey(): string {
  const hash = createHash("sha256").update(BOOT_PY).update(SNAPSHOT_IMPORTS).update(process.version).digest("hex").slice(0, 16);
  return `pyodide-${PYODIDE_VERSION}-${process.version}-${hash}.snapshot`;
}

function cacheDirectory(): string | undefined {
  const setting = process.env.REXEC_PYTHON_CACHE;
  if (setting === "0") return undefined;
  if (setting) return setting;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "rexec", "python");
}

/** Owned by this user and writable by nobody else. */
function trusted(path: string): boolean {
  try {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return false;
    const uid = typeof process.getuid === "function" ? process.getuid() : stat.uid;
    return stat.uid === uid && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** @internal (exported for tests) A trusted cached snapshot in `dir`, or `undefined`. */
export function readCached(dir: string): Uint8Array | undefined {
  const file = join(dir, cacheKey());
  if (!trusted(dir) || !trusted(file) || !trusted(`${file}.sha256`)) return undefined;
  try {
    const bytes = readFileSync(file);
    const expected = readFileSync(`${file}.sha256`, "utf8").trim();
    if (createHash("sha256").update(bytes).digest("hex") !== expected) return undefined;
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch {
    return undefined;
  }
}

/** @internal (exported for tests) */
export function writeCached(dir: string, image: Uint8Array): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const file = join(dir, cacheKey());
    const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(temp, image, { mode: 0o600 });
    writeFileSync(`${temp}.sha256`, createHash("sha256").update(image).digest("hex"), { mode: 0o600 });
    renameSync(`${temp}.sha256`, `${file}.sha256`);
    renameSync(temp, file);
    // Snapshots of other runner/Pyodide/Node versions are dead weight (~30 MB each).
    for (const name of readdirSync(dir)) {
      if (name.startsWith("pyodide-") && !name.startsWith(cacheKey())) rmSync(join(dir, name), { force: true });
    }
  } catch {
    // A cache that cannot be written only costs the next process a boot.
  }
}

async function load(): Promise<Uint8Array> {
  const dir = cacheDirectory();
  const cached = dir ? readCached(dir) : undefined;
  if (cached) return cached;
  const image = await makeSnapshot();
  if (dir) writeCached(dir, image);
  return image;
}

/** Longest the throwaway boot that makes the snapshot may take. */
const SNAPSHOT_TIMEOUT_MS = 180_000;

/** Boot a stock interpreter in a throwaway worker and take its memory image. */
async function makeSnapshot(): Promise<Uint8Array> {
  const boot: BootData = {
    pyodideDir: pyodideDirectory(),
    wasmModule: await cappedModule(2 ** 32 - 65536),
    hostReply: new SharedArrayBuffer(16),
    resultBytes: 0,
    outputBytes: 0,
    fsQuotaBytes: 0,
    maxFiles: 0,
  };
  const worker = new Worker(pythonWorkerScript(), { workerData: boot, execArgv: [] });
  let deadline: NodeJS.Timeout | undefined;
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      // A boot that never finishes would hang every Python sandbox of the process (a cold boot takes ~2.4 s).
      deadline = setTimeout(() => reject(new Error(`could not make the Python snapshot: the boot did not finish within ${SNAPSHOT_TIMEOUT_MS / 1000} s`)), SNAPSHOT_TIMEOUT_MS);
      worker.on("message", (message: FromWorker) => {
        if (message.t === "snapshot") resolve(message.image);
        else if (message.t === "failed") reject(new Error(`could not make the Python snapshot: ${message.detail}`));
      });
      worker.on("error", (error) => reject(new Error(`could not make the Python snapshot: ${error.message}`)));
      worker.on("exit", (code) => reject(new Error(`the Python snapshot worker exited (${code})`)));
    });
  } finally {
    clearTimeout(deadline);
    void worker.terminate();
  }
}
