// Guest-side setup of the web-standard and Node-style globals (URL,
// TextEncoder, atob, structuredClone, AbortController, Event, crypto, Intl,
// Buffer). Evaluated when a realm starts, before the prelude (whose
// nokBuiltinNames removal therefore removes these too) and before any guest
// code; it evaluates to a function the host calls with one raw native.
//
// Invariant: nothing here hands the guest a host object. The native is held
// only in this closure and in the crypto/Intl factories; it answers with
// copies (strings, numbers, fresh ArrayBuffers, plain objects) or with values
// of the guest's own realm (a bundle's exports, the `buffer` builtin).
//
// Start-up cost: every global is an accessor until first read. The getter
// asks the host to evaluate the bundle (dist/web/<name>.js, built by
// scripts/build-web.mjs) and replaces itself with a plain data property, so
// a realm that never uses URL never parses core-js. `'URL' in globalThis` is
// true from the start; reading the property (even `typeof URL`) loads it.
(function rexecWebGlobals(native, config) {
  "use strict";
  const { defineProperty, getOwnPropertyDescriptor: describe, getPrototypeOf, create } = Object;
  const apply = Reflect.apply;
  const nok = new Set(config.nokBuiltinNames);
  const global = globalThis;

  // Classic QuickJS has no DOMException (QuickJS-ng has one): the errors of
  // these globals need it, and Node code expects the global.
  let DOMExc = typeof DOMException === "function" ? DOMException : undefined;
  if (!DOMExc) {
    const CODES = { IndexSizeError: 1, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12, InvalidAccessError: 15, TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, QuotaExceededError: 22, TimeoutError: 23, DataCloneError: 25, InvalidCharacterError: 5 };
    DOMExc = class DOMException extends Error {
      constructor(message = "", name = "Error") {
        super(message);
        defineProperty(this, "name", { value: `${name}`, writable: true, configurable: true });
      }
      get code() {
        return CODES[this.name] || 0;
      }
    };
    if (!nok.has("DOMException")) defineProperty(global, "DOMException", { value: DOMExc, writable: true, configurable: true });
  }

  // Captured now, before guest code can replace them; crypto.js calls the
  // getters through the captured Reflect.apply. `config` is a literal the host
  // wrote into this realm's copy of the source (no native call at start-up).
  const TypedArrayProto = getPrototypeOf(Uint8Array.prototype);
  const getter = (proto, name) => describe(proto, name).get;
  const intrinsics = {
    apply,
    Uint8Array,
    DOMException: DOMExc,
    Promise,
    taTag: getter(TypedArrayProto, Symbol.toStringTag),
    taBuffer: getter(TypedArrayProto, "buffer"),
    taOffset: getter(TypedArrayProto, "byteOffset"),
    taLength: getter(TypedArrayProto, "byteLength"),
    abLength: getter(ArrayBuffer.prototype, "byteLength"),
    abSlice: ArrayBuffer.prototype.slice,
    dvBuffer: getter(DataView.prototype, "buffer"),
    dvOffset: getter(DataView.prototype, "byteOffset"),
    dvLength: getter(DataView.prototype, "byteLength"),
  };
  const numberValueOf = Number.prototype.valueOf;
  const bigintValueOf = BigInt.prototype.valueOf;
  const dateGetTime = Date.prototype.getTime;

  // --- bundles, evaluated on first use ------------------------------------------
  const bundles = create(null);
  const loading = create(null);
  function bundle(name) {
    if (bundles[name] !== undefined) return bundles[name];
    // A bundle that reads a global of its own while it loads (event-target-shim
    // looks at globalThis.Event) sees undefined instead of recursing.
    if (loading[name]) return undefined;
    loading[name] = true;
    try {
      bundles[name] = native("bundle", name);
    } finally {
      loading[name] = false;
    }
    return bundles[name];
  }
  let cryptoObject, intlApi;
  const cryptoApi = () => (cryptoObject ??= bundle("crypto").makeCrypto(native, intrinsics, config));
  const intl = () => (intlApi ??= bundle("intl").makeIntl(native));

  /** A non-enumerable global (as in Node) computed on first read, then a plain data property. */
  function lazy(name, compute) {
    if (nok.has(name)) return;
    let value, done = false;
    const settle = (v) => {
      value = v;
      done = true;
      // A guest that froze globalThis keeps the accessor; it still answers the same value.
      try { defineProperty(global, name, { value: v, writable: true, enumerable: false, configurable: true }); } catch {}
      return v;
    };
    defineProperty(global, name, {
      get() {
        if (done) return value;
        const v = compute();
        return v === undefined ? undefined : settle(v);
      },
      set: settle,
      enumerable: false,
      configurable: true,
    });
  }

  const fromBundle = (file, name) => () => bundle(file)?.[name];
  // global name → the bundle exporting it
  const FROM = { URL: "url", URLSearchParams: "url", structuredClone: "clone", Event: "events", EventTarget: "events", AbortController: "events", AbortSignal: "events" };
  for (const name in FROM) lazy(name, fromBundle(FROM[name], name));
  // These two bundles take the native for their bulk paths.
  let encodingApi, base64Api;
  const encoding = () => (encodingApi ??= bundle("encoding")?.makeEncoding(native));
  const base64 = () => (base64Api ??= bundle("base64")?.makeBase64(native));
  lazy("TextEncoder", () => encoding()?.TextEncoder);
  lazy("TextDecoder", () => encoding()?.TextDecoder);
  lazy("atob", () => base64()?.atob);
  lazy("btoa", () => base64()?.btoa);
  let blobClass;
  const blob = () => (blobClass ??= bundle("blob")?.makeBlob(native));
  lazy("Blob", blob);
  // fetch and its classes: one bundle; the host's two functions are asked for
  // only when fetch is granted (config.fetch), so a sandbox without it has none.
  let fetchApi;
  const fetchEnv = {
    encode: (s) => new (encoding().TextEncoder)().encode(s),
    decode: (b) => new (encoding().TextDecoder)().decode(b),
    URL: () => bundle("url")?.URL,
    URLSearchParams: () => bundle("url")?.URLSearchParams,
    Blob: blob,
    DOMException: DOMExc,
  };
  const fetchBundle = () => (fetchApi ??= bundle("fetch")?.makeFetch(config.fetch ? native("fetch") : null, { granted: config.fetch }, fetchEnv));
  for (const name of ["fetch", "Headers", "Request", "Response"]) lazy(name, () => fetchBundle()?.[name]);
  lazy("crypto", cryptoApi);
  lazy("Intl", () => intl().Intl);
  // Node's global Buffer is the `buffer` module's, so only when that builtin is allowed.
  if (config.buffer) lazy("Buffer", () => native("buffer").Buffer);

  // --- toLocaleString: the engine's ignores the locale; use Intl's ---------------
  if (!nok.has("Intl")) {
    const method = (proto, name, fn) => defineProperty(proto, name, { value: fn, writable: true, enumerable: false, configurable: true });
    method(Number.prototype, "toLocaleString", function toLocaleString(locales, options) {
      return intl().numberToLocale(apply(numberValueOf, this, []), locales, options);
    });
    method(BigInt.prototype, "toLocaleString", function toLocaleString(locales, options) {
      return intl().numberToLocale(apply(bigintValueOf, this, []), locales, options);
    });
    for (const op of ["toLocaleString", "toLocaleDateString", "toLocaleTimeString"]) {
      method(Date.prototype, op, function (locales, options) {
        return intl().dateToLocale(op, apply(dateGetTime, this, []), locales, options);
      });
    }
  }
})
