// Guest bundle: Event and EventTarget from event-target-shim (the WHATWG DOM
// implementation that node-fetch, abort-controller and undici's polyfills
// used), and AbortController / AbortSignal on top of them.
//
// AbortController is written here: the npm `abort-controller` package predates
// `reason`, `throwIfAborted`, `AbortSignal.abort/timeout/any`, which current
// code uses. Errors are the engine's own DOMException (QuickJS-ng has one).
import { Event, EventTarget, setWarningHandler, getEventAttributeValue, setEventAttributeValue } from "event-target-shim";

// The shim prints usage warnings through console.warn (e.g. preventDefault on
// a non-cancelable event); browsers and Node stay silent, and so does the guest.
setWarningHandler(() => {});

const abortError = () => new DOMException("This operation was aborted", "AbortError");
const timeoutError = () => new DOMException("The operation was aborted due to timeout", "TimeoutError");
const internal = new WeakMap();
let constructing = false;

export class AbortSignal extends EventTarget {
  constructor() {
    if (!constructing) throw new TypeError("Illegal constructor");
    super();
    internal.set(this, { aborted: false, reason: undefined });
  }
  get aborted() {
    return stateOf(this).aborted;
  }
  get reason() {
    return stateOf(this).reason;
  }
  get onabort() {
    return getEventAttributeValue(this, "abort");
  }
  set onabort(value) {
    setEventAttributeValue(this, "abort", value);
  }
  throwIfAborted() {
    const state = stateOf(this);
    if (state.aborted) throw state.reason;
  }
  static abort(reason) {
    const signal = newSignal();
    signalAbort(signal, reason === undefined ? abortError() : reason);
    return signal;
  }
  static timeout(ms) {
    const delay = Number(ms);
    if (!Number.isFinite(delay) || delay < 0) throw new TypeError(`AbortSignal.timeout: the delay must be a finite number >= 0 (got ${typeof ms === "number" ? ms : typeof ms})`);
    const signal = newSignal();
    setTimeout(() => signalAbort(signal, timeoutError()), delay);
    return signal;
  }
  static any(signals) {
    const list = [...signals];
    const signal = newSignal();
    for (const s of list) {
      stateOf(s);
      if (s.aborted) {
        signalAbort(signal, s.reason);
        return signal;
      }
    }
    for (const s of list) s.addEventListener("abort", () => signalAbort(signal, s.reason), { once: true });
    return signal;
  }
  get [Symbol.toStringTag]() {
    return "AbortSignal";
  }
}

function stateOf(signal) {
  const state = internal.get(signal);
  if (!state) throw new TypeError("not an AbortSignal");
  return state;
}

function newSignal() {
  constructing = true;
  try {
    return new AbortSignal();
  } finally {
    constructing = false;
  }
}

function signalAbort(signal, reason) {
  const state = stateOf(signal);
  if (state.aborted) return;
  state.aborted = true;
  state.reason = reason;
  signal.dispatchEvent(new Event("abort"));
}

const signals = new WeakMap();

export class AbortController {
  constructor() {
    signals.set(this, newSignal());
  }
  get signal() {
    const signal = signals.get(this);
    if (!signal) throw new TypeError("not an AbortController");
    return signal;
  }
  abort(reason) {
    signalAbort(this.signal, reason === undefined ? abortError() : reason);
  }
  get [Symbol.toStringTag]() {
    return "AbortController";
  }
}

export { Event, EventTarget };
