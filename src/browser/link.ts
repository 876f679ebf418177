/**
 * The message link between a page and the Web Worker that runs a sandbox:
 * requests with replies, and functions crossing in both directions (the host's
 * functions into the worker, the guest's exported functions out of it).
 *
 * Invariant: nothing but structured-clone data crosses, through the worker
 * boundary's own codec (src/worker/codec.ts): functions become `{ f: id }`
 * markers that the other side turns into proxies calling back by id, typed
 * errors are rebuilt as their classes, and values from the worker are checked
 * against the walk bound before the page builds them.
 *
 * @packageDocumentation
 */
import { CloneError } from "../host/errors.js";
import { decodeValue, encodeError, encodeValue, type GuestValueChecks, type Wire } from "../worker/codec.js";

/** Messages on the link. */
export type LinkMessage =
  | { readonly t: "call"; readonly seq: number; readonly method: string; readonly args: Wire }
  | { readonly t: "fn"; readonly seq: number; readonly id: number; readonly args: Wire }
  | { readonly t: "reply"; readonly seq: number; readonly ok: boolean; readonly v: Wire; readonly stats?: RunStats }
  /** Cancel the `call` numbered `seq` (its AbortSignal on the answering side fires). */
  | { readonly t: "abort"; readonly seq: number }
  /** The worker is alive (not held by guest code): see web-worker-rexec.ts. */
  | { readonly t: "beat" }
  /** The other side collected its proxies of these exported functions: forget them. */
  | { readonly t: "release"; readonly ids: readonly number[] };

/** What the worker reports about its sandbox after each call. */
export interface RunStats {
  /** CPU time of the last call in ms (RExec.lastCallCpuMs). */
  readonly cpuMs: number;
  /** Guest heap in use, bytes (RExec.heapBytes). */
  readonly heapBytes: number;
  /** Output captured during the last r_* call. */
  readonly stdout: string;
  readonly stderr: string;
}

/** The posting side of a link (a Worker, or a worker's global scope). */
export interface Port {
  postMessage(message: unknown): void;
}

/** A reply: the value (or the error, when `ok` is false) and the sandbox's stats. */
export interface Reply {
  readonly ok: boolean;
  readonly value: unknown;
  readonly stats: RunStats | undefined;
}

interface Pending {
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: unknown) => void;
}

/** Most functions one side may have exported and not yet released; a guest that keeps handing out functions it keeps alive is refused past it. */
const MAX_FUNCTIONS = 100_000;

export class Link {
  readonly #port: Port;
  readonly #functions = new Map<number, (...args: unknown[]) => unknown>();
  readonly #pending = new Map<number, Pending>();
  /** The calls this side is answering, by the other side's `seq`, to abort them. */
  readonly #answering = new Map<number, AbortController>();
  #nextFunction = 1;
  #nextSeq = 1;
  /** Set once the other side is gone: what every later request rejects with (see {@link close}). */
  #closed: (() => unknown) | undefined;
  /**
   * Proxies of the other side's functions that this side's code dropped: their ids are sent back
   * (batched) so the other side forgets the function. Without it every function that ever
   * crossed stayed in the exporting side's table: 1 000 `r_import`s of a 100-function module
   * filled it and the sandbox could return no function again.
   */
  readonly #registry = new FinalizationRegistry<number>((id) => this.#queueRelease(id));
  #released: number[] = [];
  /** Handles `call` messages (the worker side). */
  onCall: ((method: string, args: unknown[], signal: AbortSignal) => Promise<{ ok: boolean; value: unknown; stats?: RunStats }>) | undefined;

  constructor(port: Port, private readonly checks: GuestValueChecks | undefined) {
    this.#port = port;
  }

  readonly exportFunction = (fn: (...args: never[]) => unknown): number => {
    if (this.#functions.size >= MAX_FUNCTIONS) throw new RangeError(`more than ${MAX_FUNCTIONS} functions crossed the Web Worker link`);
    const id = this.#nextFunction++;
    this.#functions.set(id, fn as (...args: unknown[]) => unknown);
    return id;
  };

  readonly importFunction = (id: number, name: string): ((...args: unknown[]) => Promise<unknown>) => {
    const call = async (...args: unknown[]): Promise<unknown> => {
      const reply = await this.request({ t: "fn", id, args: encodeValue(args, this.exportFunction) });
      if (!reply.ok) throw reply.value;
      return reply.value;
    };
    Object.defineProperty(call, "name", { value: name });
    this.#registry.register(call, id);
    return call;
  };

  #queueRelease(id: number): void {
    if (this.#closed) return;
    this.#released.push(id);
    if (this.#released.length > 1) return;
    setTimeout(() => {
      const ids = this.#released;
      this.#released = [];
      if (!this.#closed && ids.length > 0) this.#port.postMessage({ t: "release", ids });
    }, 0);
  }

  /** Send a request; resolves with the decoded reply value. `onSent` learns its number (to {@link abort} it). */
  request(message: { t: "call"; method: string; args: Wire } | { t: "fn"; id: number; args: Wire }, onSent?: (seq: number) => void): Promise<Reply> {
    const seq = this.#nextSeq++;
    onSent?.(seq);
    return new Promise((resolve, reject) => {
      // A request to a terminated worker would never be answered: a function that crossed
      // (r_import's, a guest callback a page function kept) must reject, not hang its caller.
      if (this.#closed) return reject(this.#closed());
      this.#pending.set(seq, { resolve, reject });
      try {
        this.#port.postMessage({ ...message, seq });
      } catch (error) {
        this.#pending.delete(seq);
        reject(cloneFailure(error));
      }
    });
  }

  /** Ask the other side to abort the call numbered `seq`. */
  abort(seq: number): void {
    if (this.#pending.has(seq)) this.#port.postMessage({ t: "abort", seq });
  }

  /** Reject every pending request (the worker is gone). */
  failAll(error: unknown): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  /** The other side is gone for good: pending requests reject with `error`, later ones with `later()`. */
  close(error: unknown, later: () => unknown): void {
    this.#closed ??= later;
    this.failAll(error);
  }

  get pendingRequests(): number {
    return this.#pending.size;
  }

  /** Handle one message from the other side. */
  async handle(message: LinkMessage): Promise<void> {
    if (message.t === "beat") return;
    if (message.t === "release") {
      if (Array.isArray(message.ids)) for (const id of message.ids) this.#functions.delete(id);
      return;
    }
    if (message.t === "abort") {
      this.#answering.get(message.seq)?.abort();
      return;
    }
    if (message.t === "reply") {
      const pending = this.#pending.get(message.seq);
      if (!pending) return;
      this.#pending.delete(message.seq);
      let value: unknown;
      try {
        value = decodeValue(message.v, this.importFunction, this.checks);
      } catch (error) {
        pending.reject(error);
        return;
      }
      pending.resolve({ ok: message.ok, value, stats: message.stats });
      return;
    }
    let reply: { ok: boolean; v: Wire; stats?: RunStats };
    try {
      const args = decodeValue(message.args, this.importFunction, this.checks);
      if (!Array.isArray(args)) throw new TypeError("bad link message");
      if (message.t === "call") {
        if (!this.onCall) throw new TypeError("this side answers no calls");
        const controller = new AbortController();
        this.#answering.set(message.seq, controller);
        let answer;
        try {
          answer = await this.onCall(message.method, args, controller.signal);
        } finally {
          this.#answering.delete(message.seq);
        }
        const { ok, value, stats } = answer;
        reply = { ok, v: ok ? encodeValue(value, this.exportFunction) : encodeError(value, this.exportFunction), stats };
      } else {
        const fn = this.#functions.get(message.id);
        if (!fn) throw new TypeError("a function that crossed the link is gone");
        reply = { ok: true, v: encodeValue(await fn(...args), this.exportFunction) };
      }
    } catch (error) {
      reply = { ok: false, v: encodeError(error, this.exportFunction) };
    }
    try {
      this.#port.postMessage({ t: "reply", seq: message.seq, ...reply });
    } catch (error) {
      // The browser's structured clone recurses on its own stack, which in a worker is shallower
      // than the codec's depth bound (MAX_DEPTH): a value ~1 000+ levels deep can overflow it. Unanswered,
      // the call would hang until the page's deadline killed the sandbox; answer with the failure instead.
      this.#port.postMessage({ t: "reply", seq: message.seq, ok: false, v: encodeError(cloneFailure(error), this.exportFunction), stats: reply.stats });
    }
  }
}

/** A value postMessage refused (too deep for structured clone, or not cloneable), as the codec's own refusal. */
function cloneFailure(error: unknown): CloneError {
  const why = error instanceof Error ? error.message.slice(0, 200) : "not cloneable";
  return new CloneError(`value cannot cross between the page and its Web Worker (${why}); return a flatter value`);
}
