/**
 * The host-call exchange between a Python worker and the host thread: one
 * shared buffer, a request and its reply in the same bytes, no messages.
 *
 * The worker writes the request's JSON and blocks ({@link askThroughExchange});
 * the host thread answers it ({@link HostCallExchange.serve}). A message round
 * trip between two threads costs ~70–120 µs on an idle virtual machine (most
 * of it waking a sleeping CPU); so each side first watches the shared word for
 * a short while before it sleeps: the worker for the reply, the host for the
 * guest's next call right after answering one.
 *
 * Invariants (the host thread is everyone's):
 * - The host never holds its event loop for long: it watches at most
 *   {@link HOST_SPIN_MS} after an answer, and answers watched-for calls for
 *   at most {@link HOST_HOLD_MS} before timers and I/O get a turn — a guest
 *   calling host functions in a loop cannot starve the host's timers (its
 *   own deadlines among them).
 * - A request is answered only after the output messages the worker posted
 *   before it have arrived, so output and host-function effects keep the
 *   guest's order.
 * - `serve` never rejects: a failure ends it through `onFailure`.
 *
 * @packageDocumentation
 */
import { HOST_CONTROL_BYTES, HostState, HostWord } from "./py-protocol.js";

/** After answering, how long (ms) the host thread watches for the next call before sleeping. */
export const HOST_SPIN_MS = 0.1;
/** The longest (ms) the host thread answers watched-for calls before its event loop gets a turn. */
export const HOST_HOLD_MS = 1;
/** How long (ms) the worker watches for the host's reply before it sleeps. */
export const REPLY_SPIN_MS = 0.2;

/** What the host side needs from its owner. */
export interface ExchangeOwner {
  /** The reply (JSON bytes, at most the exchange's size) to one request. */
  answer(request: Uint8Array): Promise<Uint8Array>;
  /** Resolves once this many output messages have arrived (see HostWord.OUT_POSTED). */
  outputArrived(count: number): Promise<void> | undefined;
  /** Serving ended by a failure of its own (never by a request's: `answer` turns those into replies). */
  onFailure(error: unknown): void;
}

/** The host thread's side. */
export class HostCallExchange {
  private readonly control: Int32Array;
  private readonly bytes: Uint8Array;
  private stopped = false;

  /**
   * @param timing - how long to watch after an answer, and the longest hold of the event loop
   *   (ms; defaults {@link HOST_SPIN_MS}, {@link HOST_HOLD_MS}); tests lengthen the watch to
   *   make the hold limit the only thing that gives timers a turn
   */
  constructor(
    shared: SharedArrayBuffer,
    private readonly timing: { readonly spinMs: number; readonly holdMs: number } = { spinMs: HOST_SPIN_MS, holdMs: HOST_HOLD_MS },
  ) {
    this.control = new Int32Array(shared, 0, HOST_CONTROL_BYTES / 4);
    this.bytes = new Uint8Array(shared, HOST_CONTROL_BYTES);
  }

  /** The largest reply that fits. */
  get capacity(): number {
    return this.bytes.length;
  }

  /** Answers requests until {@link stop}. A pending `Atomics.waitAsync` keeps neither the process nor the worker alive. */
  async serve(owner: ExchangeOwner): Promise<void> {
    try {
      await this.loop(owner);
    } catch (error) {
      // Never a rejection nobody handles (it would end the host process).
      if (!this.stopped) owner.onFailure(error);
    }
  }

  /** Stop serving (idempotent); wakes a sleeping `serve`. */
  stop(): void {
    this.stopped = true;
    Atomics.notify(this.control, HostWord.STATE);
  }

  private async loop(owner: ExchangeOwner): Promise<void> {
    let justAnswered = false;
    let heldSince = performance.now();
    while (!this.stopped) {
      let state = Atomics.load(this.control, HostWord.STATE);
      if (state !== HostState.REQUEST && justAnswered) {
        const until = performance.now() + this.timing.spinMs;
        while (state !== HostState.REQUEST && performance.now() < until) state = Atomics.load(this.control, HostWord.STATE);
      }
      justAnswered = false;
      if (state !== HostState.REQUEST) {
        // Waits on the value seen (never a fixed one: a REPLY the worker has not taken yet
        // would make waitAsync return at once and this loop spin).
        const waiting = Atomics.waitAsync(this.control, HostWord.STATE, state);
        if (waiting.async) await waiting.value;
        heldSince = performance.now();
        continue;
      }
      // Calls caught while watching are answered without a turn of the event loop (a sync
      // host function settles in microtasks): give timers and I/O theirs now and then.
      if (performance.now() - heldSince > this.timing.holdMs) {
        await new Promise((resolve) => setImmediate(resolve));
        heldSince = performance.now();
        continue;
      }
      const output = owner.outputArrived(Atomics.load(this.control, HostWord.OUT_POSTED));
      if (output) await output;
      if (this.stopped) return;
      const reply = await owner.answer(this.bytes.slice(0, Atomics.load(this.control, HostWord.LENGTH)));
      if (this.stopped) return;
      if (reply.length > this.bytes.length) throw new RangeError("a host reply larger than the exchange");
      this.bytes.set(reply);
      Atomics.store(this.control, HostWord.LENGTH, reply.length);
      Atomics.store(this.control, HostWord.STATE, HostState.REPLY);
      Atomics.notify(this.control, HostWord.STATE);
      justAnswered = true;
    }
  }
}

/**
 * The worker's side: write `request`, block until the host replies, take the
 * reply. `outPosted`: output messages posted before this request. The
 * caller checks the request fits ({@link exchangeCapacity}).
 */
export function askThroughExchange(shared: SharedArrayBuffer, request: Uint8Array, outPosted: number): Uint8Array {
  const control = new Int32Array(shared, 0, HOST_CONTROL_BYTES / 4);
  const bytes = new Uint8Array(shared, HOST_CONTROL_BYTES);
  bytes.set(request);
  Atomics.store(control, HostWord.LENGTH, request.length);
  Atomics.store(control, HostWord.OUT_POSTED, outPosted);
  Atomics.store(control, HostWord.STATE, HostState.REQUEST);
  Atomics.notify(control, HostWord.STATE);
  // Most host functions answer within the spin; a longer one is waited for asleep.
  const spinUntil = performance.now() + REPLY_SPIN_MS;
  while (Atomics.load(control, HostWord.STATE) === HostState.REQUEST && performance.now() < spinUntil);
  while (Atomics.load(control, HostWord.STATE) === HostState.REQUEST) Atomics.wait(control, HostWord.STATE, HostState.REQUEST);
  const reply = bytes.slice(0, Atomics.load(control, HostWord.LENGTH));
  Atomics.store(control, HostWord.STATE, HostState.IDLE);
  return reply;
}

/** Bytes a request or reply may have in an exchange of this buffer. */
export function exchangeCapacity(shared: SharedArrayBuffer): number {
  return shared.byteLength - HOST_CONTROL_BYTES;
}
