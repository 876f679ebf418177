/**
 * The Node globals the core refers to, for the browser build. esbuild's
 * `inject` binds the core's free references to `process`, `Buffer`,
 * `setImmediate`, `setTimeout` and `clearTimeout` to these exports, so the
 * page's own globals are never modified.
 *
 * - `process`: an empty environment (`process.env` is what the guest's
 *   `okEnv` filters: nothing to leak in a page), cwd `/`, and stdout/stderr that
 *   go to the page's console (what `s_*` methods default to).
 * - timers return handles with `unref`/`ref`, as Node's do (the core unrefs
 *   its timers so they never keep a Node process alive; in a page that means nothing).
 *
 * @packageDocumentation
 */
import { Buffer as BufferClass } from "./buffer-class.js";

const realSetTimeout = globalThis.setTimeout.bind(globalThis);
const realClearTimeout = globalThis.clearTimeout.bind(globalThis);

/** A Node-style timer handle. */
class TimerHandle {
  constructor(readonly id: ReturnType<typeof realSetTimeout>) {}
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  [Symbol.toPrimitive](): unknown {
    return this.id;
  }
}

function setTimeoutShim(fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): TimerHandle {
  return new TimerHandle(realSetTimeout(fn, ms, ...args));
}
function clearTimeoutShim(handle: unknown): void {
  realClearTimeout((handle instanceof TimerHandle ? handle.id : handle) as ReturnType<typeof realSetTimeout>);
}
function setImmediateShim(fn: (...args: unknown[]) => void, ...args: unknown[]): TimerHandle {
  return new TimerHandle(realSetTimeout(fn, 0, ...args));
}

const consoleWriter = (log: (text: string) => void) => ({
  write(chunk: unknown): boolean {
    log(typeof chunk === "string" ? chunk.replace(/\n$/, "") : String(chunk));
    return true;
  },
});

const processShim = {
  env: {} as Record<string, string | undefined>,
  platform: "browser",
  argv: [] as string[],
  cwd: (): string => "/",
  stdout: consoleWriter((t) => console.log(t)),
  stderr: consoleWriter((t) => console.error(t)),
  /** No stdin in a page: an empty stream. */
  stdin: {
    async *[Symbol.asyncIterator](): AsyncGenerator<string> {},
  },
};

export { processShim as process, BufferClass as Buffer, setImmediateShim as setImmediate, setTimeoutShim as setTimeout, clearTimeoutShim as clearTimeout };
