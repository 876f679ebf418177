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
(function rexecWebGlobals(native) {
  "use strict";
  const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf, create } = Object;
  const uncurry = (fn) => Function.prototype.call.bind(fn);
  const getterOf = (proto, name) => uncurry(getOwnPropertyDescriptor(proto, name).get);
  const config = native("config");
  const nok = new Set(config.nokBuiltinNames);
  const global = globalThis;

  // Captured now, before guest code can replace them (see crypto.js).
  const TypedArrayProto = getPrototypeOf(Uint8Array.prototype);
  const abByteLength = getterOf(ArrayBuffer.prototype, "byteLength");
  const brand = (check) => (v) => { try { check(v); return true; } catch { return false; } };
  const intrinsics = {
    Uint8Array,
    DOMException,
    PromiseCtor: Promise,
    typedArrayTag: getterOf(TypedArrayProto, Symbol.toStringTag),
    typedArrayBuffer: getterOf(TypedArrayProto, "buffer"),
    typedArrayOffset: getterOf(TypedArrayProto, "byteOffset"),
    typedArrayByteLength: getterOf(TypedArrayProto, "byteLength"),
    abByteLength,
    abSlice: uncurry(ArrayBuffer.prototype.slice),
    isArrayBuffer: brand(abByteLength),
    dataViewBuffer: getterOf(DataView.prototype, "buffer"),
    dataViewOffset: getterOf(DataView.prototype, "byteOffset"),
    dataViewLength: getterOf(DataView.prototype, "byteLength"),
    isDataView: brand(getterOf(DataView.prototype, "byteLength")),
  };
  const numberValueOf = uncurry(Number.prototype.valueOf);
  const bigintValueOf = uncurry(BigInt.prototype.valueOf);
  const dateGetTime = uncurry(Date.prototype.getTime);

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
      get: { [name]() {
        if (done) return value;
        const v = compute();
        return v === undefined ? undefined : settle(v);
      } }[name],
      set: { [name](v) { settle(v); } }[name],
      enumerable: false,
      configurable: true,
    });
  }

  const fromBundle = (file, name) => () => bundle(file)?.[name];
  for (const name of ["URL", "URLSearchParams", "atob", "btoa", "structuredClone"]) lazy(name, fromBundle("corejs", name));
  for (const name of ["TextEncoder", "TextDecoder"]) lazy(name, fromBundle("encoding", name));
  for (const name of ["Event", "EventTarget", "AbortController", "AbortSignal"]) lazy(name, fromBundle("events", name));
  lazy("crypto", cryptoApi);
  lazy("Intl", () => intl().Intl);
  // Node's global Buffer is the `buffer` module's, so only when that builtin is allowed.
  if (config.buffer) lazy("Buffer", () => native("buffer").Buffer);

  // --- toLocaleString: the engine's ignores the locale; use Intl's ---------------
  if (!nok.has("Intl")) {
    const method = (proto, name, fn) => defineProperty(proto, name, { value: fn, writable: true, enumerable: false, configurable: true });
    method(Number.prototype, "toLocaleString", { toLocaleString(locales, options) {
      return intl().numberToLocale(numberValueOf(this), locales, options);
    } }.toLocaleString);
    method(BigInt.prototype, "toLocaleString", { toLocaleString(locales, options) {
      return intl().numberToLocale(bigintValueOf(this), locales, options);
    } }.toLocaleString);
    for (const op of ["toLocaleString", "toLocaleDateString", "toLocaleTimeString"]) {
      method(Date.prototype, op, { [op](locales, options) {
        return intl().dateToLocale(op, dateGetTime(this), locales, options);
      } }[op]);
    }
  }
})
