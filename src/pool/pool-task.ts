/**
 * The pool's worker module (loaded by piscina in each pool thread). Each run
 * gets a fresh realm — runs are stateless — and the next realm is built while
 * the thread is idle, so a run does not wait for engine start-up. The thread
 * uses the host's compiled wasm module, and its first realm waits for (or runs)
 * the process's one engine warm-up (src/engine/warm-up.ts), so its first job
 * does not run in baseline code.
 *
 * @packageDocumentation
 */
import { threadId, workerData, type MessagePort } from "node:worker_threads";
import { CloneError, DisposedError } from "../host/errors.js";
import type { RExec } from "../host/rexec.js";
import { decodeValue, encodeError, encodeValue, type Wire } from "../worker/codec.js";
import { createInnerRExec, hostStubFactory, type LinkRef } from "../worker/inner.js";
import { GuestLink, type HostSettleMessage } from "../worker/link.js";
import type { WorkerConfig } from "../worker/protocol.js";
import { adoptSharedEngine, type SharedEngine } from "../worker/spawn.js";
import { MemoryHooks } from "../loader/hooks/memory-hooks.js";

/** One job, as sent by {@link RExecPool.run}. */
export interface PoolTask {
  readonly code: string;
  readonly filename: string | undefined;
  /** `"ts"` for TypeScript (see `CallOptions.language`). */
  readonly language?: "js" | "ts";
  /** This run's globals (its `input` among them), by name; functions call the host. */
  readonly globals?: Wire;
  /** This run's own module files (see `PoolRunOptions.files`): a realm of its own over them. */
  readonly files?: Readonly<Record<string, string>>;
  /** Async messages both ways (started, host calls, settlements, logs). */
  readonly port: MessagePort;
  /** Sync replies to host calls (read with receiveMessageOnPort). */
  readonly replyPort: MessagePort;
  readonly signal: SharedArrayBuffer;
}

/** Per-run accounting. */
export interface PoolTaskStats {
  /** Guest CPU time of the run in ms (time in host functions not counted). */
  readonly cpuMs: number;
  /** Wall time of the run in ms, from when the guest started to when it ended. */
  readonly wallMs: number;
  /** Guest heap at its peak, in bytes (WebAssembly memory only grows). */
  readonly peakMemoryBytes: number;
}

/** What a run sends back: errors as values, so they keep their class. */
export interface PoolTaskResult {
  readonly ok: boolean;
  readonly value: Wire;
  readonly stats: PoolTaskStats;
  readonly output: { stdout: string; stderr: string };
}

const start = workerData as { config: WorkerConfig; sharedEngine?: SharedEngine };
const config = start.config;
// Before the first realm: use the host's compiled module instead of compiling one.
adoptSharedEngine(start.sharedEngine);
const ref: LinkRef = { current: undefined };
const importHost = hostStubFactory(ref);

function makeRealm(files?: Readonly<Record<string, string>>): Promise<RExec> {
  let rx: RExec;
  try {
    // A run's own files replace the pool's hooks for that run (its r_open policy stays: config.rOpen).
    rx = createInnerRExec(files ? { ...config, hooks: undefined } : config, importHost, {
      verbose: false,
      // Output is only captured (`output` in the result): a pool serves many callers.
      stdio: { stdout: () => {}, stderr: () => {} },
      ...(files ? { hooks: new MemoryHooks({ files }) } : {}),
    });
  } catch (error) {
    const failed = Promise.reject(error);
    failed.catch(() => {});
    return failed;
  }
  // A no-op call waits for the realm to start, so start-up is not counted as the run's time.
  const ready = rx.r_exec("").then(() => rx);
  ready.catch(() => {});
  return ready;
}

let spare: Promise<RExec> | undefined = makeRealm();

/**
 * A rejection nobody handled in this thread (a promise the realm let go of when
 * a run ended) must not end the thread: Node would, and piscina would then fail
 * whichever job the thread was given next.
 */
process.on("unhandledRejection", () => {});

/**
 * piscina posts a run's result after {@link runTask} returns, and a value it
 * cannot clone is thrown there — in the pool's own machinery, where it ends
 * the thread. So the value is serialised once here with the same structured
 * clone algorithm postMessage uses (without opening a channel per run), and a
 * failure becomes the run's error instead.
 */
function assertPostable(value: Wire): void {
  structuredClone(value);
}

/** Post on a port that may already be closed (the host gave up on the run). */
function tryPost(port: MessagePort, message: unknown): void {
  try {
    port.postMessage(message);
  } catch {
    // Nobody is listening any more.
  }
}

/** Run one job in a fresh realm. */
export default async function runTask(task: PoolTask): Promise<PoolTaskResult> {
  const link = new GuestLink((m) => task.port.postMessage(m), task.replyPort, new Int32Array(task.signal));
  ref.current = link;
  task.port.on("message", (m: HostSettleMessage) => {
    if (m?.t === "settle" && ref.current === link) link.settle(m, importHost);
  });
  // A run with files of its own gets a realm over them; the prepared one waits for the next run.
  const realm = task.files ? makeRealm(task.files) : (spare ?? makeRealm());
  if (!task.files) spare = undefined;
  let rx: RExec | undefined;
  let ok = true;
  let result: unknown;
  let wallMs = 0;
  try {
    rx = await realm;
    // Before the clock starts: copying the run's data in is set-up, under its own budget.
    if (task.globals !== undefined) await rx.defineGlobalsForRun(decodeGlobals(task.globals));
    // The host's watchdog charges this thread's running time from here (src/worker/watchdog.ts).
    tryPost(task.port, { t: "started", threadId });
    const t0 = performance.now();
    try {
      result = await rx.r_eval(task.code, { filename: task.filename, language: task.language });
    } finally {
      wallMs = performance.now() - t0;
    }
  } catch (error) {
    ok = false;
    result = error;
  }
  // Functions cannot outlive a stateless run: they arrive as functions that say so.
  const exportDead = () => 0;
  let value: Wire;
  try {
    value = ok ? encodeValue(result, exportDead) : encodeError(result, exportDead);
    assertPostable(value);
  } catch (error) {
    const what = ok ? "result" : "error";
    ok = false;
    value = encodeError(new CloneError(`the run's ${what} could not cross the thread boundary: ${error instanceof Error ? error.message : typeof error}`), exportDead);
  }
  let stats: PoolTaskStats = { cpuMs: 0, wallMs, peakMemoryBytes: 0 };
  let output = { stdout: "", stderr: "" };
  try {
    stats = { cpuMs: rx ? rx.lastCallCpuMs : 0, wallMs, peakMemoryBytes: rx ? rx.heapBytes : 0 };
    output = rx?.output ?? output;
    rx?.dispose();
  } catch {
    // A realm that cannot report or be disposed is dropped with its run.
  }
  link.abandon(new DisposedError("the pool run ended"));
  ref.current = undefined;
  task.port.close();
  task.replyPort.close();
  // Build the next realm while this thread would otherwise be idle.
  spare ??= makeRealm();
  return { ok, value, stats, output };
}

/** The run's globals as values: each decoded on its own (functions become calls to this run's host). */
function decodeGlobals(wire: Wire): Record<string, unknown> {
  const globals: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(wire as unknown as Record<string, Wire>)) globals[name] = decodeValue(value, importHost);
  return globals;
}