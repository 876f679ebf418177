/**
 * Host functions across a thread boundary.
 *
 * A guest running in a worker calls a host function that lives on the main
 * thread. The guest's call is synchronous (the realm expects a value or a
 * thenable back at once), so the worker *blocks*: it posts the call, then
 * sleeps in `Atomics.wait` on a shared signal word. The main thread is free
 * (it is only awaiting the worker), so its event loop receives the call, runs
 * the function, posts the reply on a dedicated reply port and wakes the worker,
 * which takes the reply off that port with `receiveMessageOnPort` — the reply
 * needs no event-loop turn in the worker, and has no size limit.
 *
 * One protocol serves sync and async host functions alike, with the same
 * meaning as in-thread: a plain return value comes back at once; a returned
 * thenable comes back as "pending", the worker hands the realm a promise, and
 * the settlement arrives later as an ordinary async message. So a guest sees a
 * value from a sync host function and a promise from an async one, exactly as
 * without a worker.
 *
 * @packageDocumentation
 */
import { closeHostCallScope as closeScope, openHostCallScope, runInHostCallScope, type HostCallScope } from "../boundary/host-call-scope.js";
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { handled } from "../boundary/handled.js";
import { CloneError } from "../host/errors.js";
import { decodeValue, encodeError, encodeValue, type GuestValueChecks, type ImportFunction, type Wire } from "./codec.js";

/**
 * Layout of the shared buffer of one link: word 0 (Int32) is the signal the
 * worker sleeps on during a host call. Two BigInt64 slots serve the host's
 * watchdog (see watchdog.ts): at byte 8 the microseconds the worker has spent
 * blocked in finished host calls, at byte 16 when (epoch microseconds) the
 * worker blocked in the host call in progress, or 0. Both are written by the
 * worker; the second one lets the watchdog see a blocked period while it
 * lasts, not only once the worker has woken up and added it.
 */
export const LINK_SIGNAL_BYTES = 24;

/** Epoch time in microseconds, the same clock on every thread. */
function epochMicros(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
}

/**
 * Microseconds the worker behind `signal` has spent blocked in synchronous
 * host calls, including the one in progress. Read in this order, a call that
 * ends meanwhile may be counted twice for one reading — never not at all — so
 * the watchdog can be late by one host call's length, never early.
 */
export function blockedMicros(signal: Int32Array): bigint {
  const slots = new BigInt64Array(signal.buffer, 8, 2);
  const since = Atomics.load(slots, 1);
  const done = Atomics.load(slots, 0);
  return done + (since > 0n ? epochMicros() - since : 0n);
}

type AnyFunction = (...args: never[]) => unknown;

/** Worker → main: the guest called host function `fid`. The worker is blocked until the reply. */
export interface HostCallMessage {
  readonly t: "hcall";
  readonly hseq: number;
  readonly fid: number;
  readonly args: Wire;
}

/** Main → worker (reply port): the answer to one {@link HostCallMessage}. */
interface HostReply {
  readonly hseq: number;
  readonly ok: boolean;
  readonly pending?: true;
  readonly value?: Wire;
}

/** Main → worker (async): an async host function settled. */
export interface HostSettleMessage {
  readonly t: "settle";
  readonly hseq: number;
  readonly ok: boolean;
  readonly value: Wire;
}

/** Worker → main: the host no longer needs these guest-function ids. */
export interface ReleaseMessage {
  readonly t: "release";
  readonly ids: readonly number[];
}

/** The host functions one host has handed to a worker, by id (ids are stable per function). */
export class HostFunctionTable {
  private readonly byId = new Map<number, AnyFunction>();
  private readonly ids = new Map<AnyFunction, number>();

  /**
   * @param parent - a table this one extends for a while (a pool run's own
   *   functions beside the pool's): the parent's functions keep their ids, new
   *   ones get negative ids here and are dropped with this table.
   */
  constructor(private readonly parent?: HostFunctionTable) {}

  /** The id of `fn`, registering it on first use. */
  readonly export = (fn: AnyFunction): number => {
    let id = this.ids.get(fn) ?? this.parent?.ids.get(fn);
    if (id === undefined) {
      id = this.parent ? -(this.byId.size + 1) : this.byId.size + 1;
      this.byId.set(id, fn);
      this.ids.set(fn, id);
    }
    return id;
  };

  /** The function registered under `id`. */
  get(id: number): AnyFunction | undefined {
    return this.byId.get(id) ?? this.parent?.get(id);
  }
}

/** Options of {@link HostLink}. */
export interface HostLinkOptions {
  readonly table: HostFunctionTable;
  /** Sends an async message to the worker (settlements). */
  readonly post: (message: HostSettleMessage) => void;
  /** The main thread's end of the reply channel. */
  readonly replyPort: MessagePort;
  /** The shared signal word the worker sleeps on. */
  readonly signal: Int32Array;
  /** How to call a guest function that arrives as an argument. */
  readonly importGuestFunction: ImportFunction;
  /** Called with +1 when a host call starts and -1 when it ends (the worker is kept referenced meanwhile). */
  readonly onHostBusy?: (delta: 1 | -1) => void;
  /** Checks on the guest-derived arguments (see {@link decodeValue}). */
  readonly guestChecks?: GuestValueChecks;
  readonly log?: (line: string) => void;
}

/** The main-thread side: answers the host calls of one worker (or one pool run). */
export class HostLink {
  private closed = false;
  /** Scopes of async host calls still pending (closed with the link: their worker is gone). */
  private readonly pendingScopes = new Set<HostCallScope>();

  constructor(private readonly options: HostLinkOptions) {}

  /** Stop settling async calls (the worker is gone). */
  close(): void {
    this.closed = true;
    for (const scope of this.pendingScopes) closeScope(scope);
    this.pendingScopes.clear();
  }

  /** Run one host call and wake the worker with its reply. Never throws. */
  handle(message: HostCallMessage): void {
    const { table, importGuestFunction, onHostBusy } = this.options;
    let reply: HostReply;
    onHostBusy?.(1);
    let settledLater = false;
    const scope = openHostCallScope(this);
    try {
      const fn = table.get(message.fid);
      if (fn === undefined) throw new TypeError("unknown host function");
      const args = decodeValue(message.args, importGuestFunction, this.options.guestChecks);
      if (!Array.isArray(args)) throw new TypeError("bad host call arguments");
      const result = runInHostCallScope(scope, () => (fn as (...a: unknown[]) => unknown)(...args));
      if (isThenable(result)) {
        let done = false;
        const settle = (ok: boolean, value: unknown) => {
          if (done) return;
          done = true;
          closeScope(scope);
          this.pendingScopes.delete(scope);
          onHostBusy?.(-1);
          if (this.closed) return;
          let wire: Wire;
          try {
            wire = ok ? encodeValue(value, table.export) : encodeError(value, table.export);
          } catch (error) {
            ok = false;
            wire = encodeError(error, table.export);
          }
          try {
            this.options.post({ t: "settle", hseq: message.hseq, ok, value: wire });
          } catch (error) {
            try {
              this.options.post({ t: "settle", hseq: message.hseq, ok: false, value: encodeError(cloneFailure(error), table.export) });
            } catch {
              // The worker is gone: nobody is waiting for this settlement.
            }
          }
        };
        // Adopted like `await` would (a `then` that throws is a rejection); the
        // settlement itself never throws, the chain is marked handled regardless.
        handled(Promise.resolve(result).then((v) => settle(true, v), (e) => settle(false, e)));
        settledLater = true;
        this.pendingScopes.add(scope);
        reply = { hseq: message.hseq, ok: true, pending: true };
      } else {
        reply = { hseq: message.hseq, ok: true, value: encodeValue(result, table.export) };
      }
    } catch (error) {
      reply = { hseq: message.hseq, ok: false, value: encodeError(error, table.export) };
    }
    if (!settledLater) {
      closeScope(scope);
      onHostBusy?.(-1);
    }
    this.reply(reply);
  }

  private reply(reply: HostReply): void {
    const { replyPort, signal } = this.options;
    try {
      replyPort.postMessage(reply);
    } catch (error) {
      // The value could not be structured-cloned (e.g. a symbol): say so to the guest.
      try {
        replyPort.postMessage({ hseq: reply.hseq, ok: false, value: encodeError(cloneFailure(error), this.options.table.export) });
      } catch {
        // The port is closed (the run or worker is gone); the wake-up below is harmless.
      }
    }
    // postMessage has queued the reply on the worker's port; now wake the worker.
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  }
}

function cloneFailure(error: unknown): CloneError {
  return new CloneError(`a host function's result could not be copied to the worker: ${error instanceof Error ? error.message : String(error)}`);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** The worker side of one connection to the main thread. */
export class GuestLink {
  private hseq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  /** Guest functions handed to the host, by id. */
  private readonly guestFunctions = new Map<number, AnyFunction>();
  private readonly guestIds = new Map<AnyFunction, number>();
  private nextGuestId = 1;
  /** Host-call time accounting: how many are in flight, since when, and the total. */
  private hostInFlight = 0;
  private hostSince = 0;
  private hostTotalMs = 0;
  /** Shared with the host's watchdog: time blocked in synchronous host calls (see {@link LINK_SIGNAL_BYTES}). */
  private readonly blocked: BigInt64Array;

  constructor(
    /** Sends an async message to the main thread. */
    private readonly post: (message: HostCallMessage | ReleaseMessage | Record<string, unknown>) => void,
    /** The worker's end of the reply channel (no listener: read synchronously). */
    private readonly replyPort: MessagePort,
    private readonly signal: Int32Array,
  ) {
    this.blocked = new BigInt64Array(signal.buffer, 8, 2);
  }

  /** Give a guest function (a host-side callable from the realm) an id the host can call. */
  readonly exportGuestFunction = (fn: AnyFunction): number => {
    let id = this.guestIds.get(fn);
    if (id === undefined) {
      id = this.nextGuestId++;
      this.guestFunctions.set(id, fn);
      this.guestIds.set(fn, id);
    }
    return id;
  };

  /** The guest function registered under `id`. */
  guestFunction(id: number): AnyFunction | undefined {
    return this.guestFunctions.get(id);
  }

  /** Drop guest functions the host no longer references. */
  release(ids: readonly number[]): void {
    for (const id of ids) {
      const fn = this.guestFunctions.get(id);
      this.guestFunctions.delete(id);
      if (fn) this.guestIds.delete(fn);
    }
  }

  /** Milliseconds spent with at least one host call in flight since the link was made. */
  get hostMs(): number {
    return this.hostTotalMs + (this.hostInFlight > 0 ? performance.now() - this.hostSince : 0);
  }

  private hostBusy(delta: 1 | -1): void {
    if (delta === 1 && this.hostInFlight++ === 0) this.hostSince = performance.now();
    if (delta === -1 && --this.hostInFlight === 0) this.hostTotalMs += performance.now() - this.hostSince;
  }

  /** An async settlement from the host. */
  settle(message: HostSettleMessage, importHost: ImportFunction): void {
    const waiter = this.pending.get(message.hseq);
    if (!waiter) return;
    this.pending.delete(message.hseq);
    this.hostBusy(-1);
    try {
      const value = decodeValue(message.value, importHost);
      (message.ok ? waiter.resolve : waiter.reject)(value);
    } catch (error) {
      waiter.reject(error);
    }
  }

  /** Reject every async host call still waiting (the run is over). */
  abandon(reason: Error): void {
    // The realm that awaited them may be gone: their rejections are expected to go unheard.
    for (const waiter of this.pending.values()) waiter.reject(reason);
    this.pending.clear();
    this.hostInFlight = 0;
  }

  /**
   * Call host function `fid` synchronously: block this thread until the host
   * answers. Returns the value, or a promise when the host function is async.
   */
  callHost(fid: number, args: unknown[], importHost: ImportFunction): unknown {
    const hseq = ++this.hseq;
    const wire = encodeValue(args, this.exportGuestFunction);
    this.hostBusy(1);
    let reply: HostReply | undefined;
    const blockedSince = epochMicros();
    Atomics.store(this.blocked, 1, blockedSince);
    try {
      Atomics.store(this.signal, 0, 0);
      this.post({ t: "hcall", hseq, fid, args: wire });
      for (;;) {
        // The host thread answers as soon as its event loop is free; the timeout
        // only makes the loop re-check, it is not a deadline.
        while (Atomics.load(this.signal, 0) === 0) Atomics.wait(this.signal, 0, 0, 1000);
        const received = receiveMessageOnPort(this.replyPort)?.message as HostReply | undefined;
        if (received === undefined) {
          Atomics.store(this.signal, 0, 0);
          continue;
        }
        if (received.hseq === hseq) {
          reply = received;
          break;
        }
      }
    } finally {
      // Time blocked here is the host's: the watchdog does not charge it to the guest.
      Atomics.add(this.blocked, 0, epochMicros() - blockedSince);
      Atomics.store(this.blocked, 1, 0n);
      if (!reply?.pending) this.hostBusy(-1);
    }
    if (reply.pending) {
      return handled(new Promise((resolve, reject) => this.pending.set(hseq, { resolve, reject })));
    }
    const value = decodeValue(reply.value!, importHost);
    if (!reply.ok) throw value;
    return value;
  }
}
