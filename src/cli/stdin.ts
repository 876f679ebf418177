/**
 * Guest stdin for `rexec run`, built from the public API only (the library's
 * prelude has no `process.stdin`): the host grants one async function that
 * reads the next chunk of the process's stdin, and a setup script builds a
 * small `process.stdin` on it inside the guest, then removes the global.
 *
 * The host's stdin is only touched when the guest first reads.
 *
 * @packageDocumentation
 */

/** Name of the temporary global the setup script captures and deletes. */
export const STDIN_GLOBAL = "__rexecReadStdin";

/**
 * Name of the global the CLI calls after the script to deliver stdin reads that
 * were still in flight when the script's own evaluation ended (the library only
 * waits for the promise a call returns, not for every pending host call).
 * Calling it only waits for stdin; it grants nothing.
 */
export const DRAIN_GLOBAL = "__rexecStdinDrain";

/** The host side: the next chunk of stdin as a string, or null at the end. */
export class HostStdin {
  private iterator: AsyncIterator<Buffer | string> | undefined;
  private done = false;
  private readonly decoder = new TextDecoder();
  private readonly inflight = new Set<Promise<unknown>>();
  /** Reads started so far. */
  started = 0;

  constructor(private readonly stream: NodeJS.ReadableStream = process.stdin) {}

  /** Whether the guest has started reading (so the stream must be released). */
  get touched(): boolean {
    return this.iterator !== undefined;
  }

  /** Reads not settled yet. */
  get pending(): number {
    return this.inflight.size;
  }

  readonly read = (): Promise<string | null> => {
    this.started++;
    const p = this.readNext();
    this.inflight.add(p);
    const done = () => void this.inflight.delete(p);
    p.then(done, done);
    return p;
  };

  /** Resolves once every read started so far has settled. */
  readonly drain = async (): Promise<void> => {
    await Promise.allSettled([...this.inflight]);
  };

  /**
   * Deliver reads that were pending when the script's evaluation ended, and
   * the reads their callbacks start, until the guest stops reading.
   */
  async settle(call: (code: string) => Promise<unknown>): Promise<void> {
    let seen = 0;
    while (this.started !== seen || this.pending > 0) {
      seen = this.started;
      await call(`${DRAIN_GLOBAL}()`);
    }
  }

  private async readNext(): Promise<string | null> {
    if (this.done) return null;
    this.iterator ??= (this.stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
    const { value, done } = await this.iterator.next();
    if (done) {
      this.done = true;
      const tail = this.decoder.decode();
      return tail === "" ? null : tail;
    }
    return typeof value === "string" ? value : this.decoder.decode(value, { stream: true });
  }

  /** Stop reading so the host process can exit. */
  release(): void {
    if (!this.iterator) return;
    this.done = true;
    void this.iterator.return?.();
    const s = this.stream as NodeJS.ReadStream;
    if (typeof s.destroy === "function") s.destroy();
  }
}

/**
 * Guest code defining `process.stdin`: `text()` (all of stdin), `read()` (next
 * chunk or null), async iteration, and `on("data" | "end", fn)` / `setEncoding`
 * / `resume` / `pause` for code written for Node's stream API.
 */
export const stdinSetup = (isTTY: boolean): string => `(() => {
  "use strict";
  const readChunk = globalThis.${STDIN_GLOBAL};
  delete globalThis.${STDIN_GLOBAL};
  if (typeof process !== "object" || process === null) return;
  const listeners = { data: [], end: [], error: [] };
  let pumping = false, ended = false;
  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      for (;;) {
        const chunk = await readChunk();
        if (chunk === null) break;
        for (const fn of listeners.data.slice()) fn(chunk);
      }
      ended = true;
      for (const fn of listeners.end.slice()) fn();
    } catch (e) {
      for (const fn of listeners.error.slice()) fn(e);
      if (!listeners.error.length) throw e;
    }
  };
  const stdin = {
    isTTY: ${isTTY},
    fd: 0,
    read: () => (ended ? Promise.resolve(null) : readChunk()),
    async text() {
      let all = "";
      for (;;) { const c = await readChunk(); if (c === null) break; all += c; }
      ended = true;
      return all;
    },
    async *[Symbol.asyncIterator]() {
      for (;;) { const c = await readChunk(); if (c === null) { ended = true; return; } yield c; }
    },
    on(event, fn) {
      if (listeners[event]) listeners[event].push(fn);
      if (event === "data" || event === "end") Promise.resolve().then(pump);
      return stdin;
    },
    once(event, fn) {
      const once = (...a) => { stdin.off(event, once); fn(...a); };
      return stdin.on(event, once);
    },
    off(event, fn) {
      const l = listeners[event];
      if (l) { const i = l.indexOf(fn); if (i >= 0) l.splice(i, 1); }
      return stdin;
    },
    setEncoding() { return stdin; },
    resume() { Promise.resolve().then(pump); return stdin; },
    pause() { return stdin; },
  };
  stdin.addListener = stdin.on;
  stdin.removeListener = stdin.off;
  Object.defineProperty(process, "stdin", { value: stdin, enumerable: true, configurable: true, writable: true });
})();`;
