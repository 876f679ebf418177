/**
 * The Web Worker side of {@link WebWorkerRExec}: one RExec per worker, driven
 * by the page over a {@link Link}. Built as dist/browser/rexec-worker.js.
 *
 * The worker only ever runs the methods in {@link WORKER_METHODS}; options come
 * from the page (the host), never from the guest.
 *
 * @packageDocumentation
 */
import type { RExecOptions } from "../host/rexec.js";
import { RExec } from "./rexec-browser.js";
import { MemoryHooks } from "../loader/hooks/memory-hooks.js";
import { UrlHooks } from "../loader/hooks/url-hooks.js";
import { initRExec } from "./engine-loader.js";
import { Link, type LinkMessage, type RunStats } from "./link.js";
import { BEAT_MS, WORKER_METHODS, type WebWorkerSandboxOptions } from "./protocol.js";

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: { data: LinkMessage }) => void) | null;
  location: { href: string };
}
const scope = globalThis as unknown as WorkerScope;

const link = new Link(scope, undefined);
let rx: RExec | undefined;

function stats(): RunStats | undefined {
  if (!rx) return undefined;
  try {
    const out = rx.output;
    return { cpuMs: rx.lastCallCpuMs, heapBytes: rx.alive ? rx.heapBytes : 0, stdout: out.stdout, stderr: out.stderr };
  } catch {
    return undefined;
  }
}

async function create(options: WebWorkerSandboxOptions, wasmUrl: string | undefined): Promise<void> {
  if (rx) throw new TypeError("this worker already has a sandbox");
  await initRExec(wasmUrl === undefined ? {} : { wasmUrl });
  const hooks = options.urlHooks ? new UrlHooks(options.urlHooks) : new MemoryHooks({ files: options.files ?? {} });
  const rexecOptions: RExecOptions = { hooks, limits: options.limits, globals: options.globals as RExecOptions["globals"] };
  if (options.okBuiltinModules) Object.assign(rexecOptions, { okBuiltinModules: options.okBuiltinModules });
  if (options.deterministic !== undefined) Object.assign(rexecOptions, { deterministic: options.deterministic });
  rx = new RExec(rexecOptions);
  // Start-up errors (a bad global, the engine) are reported by the first call: make it now.
  await rx.r_exec("");
}

/** Methods whose options (argument 2) take an AbortSignal, and whose argument 1 is the code or name. */
const ABORTABLE = new Set(["r_eval", "r_exec", "r_execfile", "r_import", "r_reload"]);

/** Calls in progress, and the heartbeat that runs while there are any (the page's deadline, see web-worker-rexec.ts). */
let active = 0;
let beat: ReturnType<typeof setInterval> | undefined;

function callStarted(): void {
  if (active++ === 0) beat = setInterval(() => scope.postMessage({ t: "beat" }), BEAT_MS);
}

function callEnded(): void {
  if (--active === 0 && beat !== undefined) {
    clearInterval(beat);
    beat = undefined;
  }
}

link.onCall = async (method, args, signal) => {
  callStarted();
  try {
    if (!WORKER_METHODS.has(method)) throw new TypeError(`unknown method ${method.slice(0, 40)}`);
    if (method === "init") {
      await create(args[0] as WebWorkerSandboxOptions, args[1] as string | undefined);
      return { ok: true, value: undefined, stats: stats() };
    }
    if (!rx) throw new TypeError("the sandbox is not created yet");
    if (method === "dispose") {
      rx.dispose();
      return { ok: true, value: undefined };
    }
    const fn = (rx as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
    if (ABORTABLE.has(method)) {
      const given = args[1];
      args = [args[0], { ...(typeof given === "object" && given !== null ? given : {}), signal }];
    }
    const value = await fn.apply(rx, args);
    return { ok: true, value, stats: stats() };
  } catch (error) {
    return { ok: false, value: error, stats: stats() };
  } finally {
    callEnded();
  }
};

scope.onmessage = (event) => {
  void link.handle(event.data);
};
