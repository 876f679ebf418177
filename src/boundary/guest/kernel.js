// The guest half of the boundary. This file is evaluated once in every new
// realm *before any guest code runs*; it evaluates to a function that takes the
// raw host bridge and returns the kernel's API, which only the host holds.
//
// Why a guest-side codec: the host never walks guest objects. Walking them from
// the host would mean running guest getters, Proxy traps and toJSON from host
// code, recursing to a depth the guest controls, and trusting shapes the guest
// chose. Instead this kernel flattens a value into a table of nodes (no nesting,
// so no depth anywhere) inside the guest — where guest getters run under the
// guest's own CPU deadline — and the host only ever parses a string and copies
// ArrayBuffers, validating everything (src/boundary/host-decode.ts).
//
// The kernel's integrity matters only to the guest itself: a guest that poisons
// builtins can make its own results wrong, but the host validates whatever it
// receives. Still, primordials are captured now so ordinary guest code that
// patches builtins does not break copying.
//
// Wire format: JSON text of an array of nodes; node 0 is the root. A "slot"
// (a child value) is a JSON string, finite number, boolean or null as itself,
// or [i]: node i, or a negative constant below.
(function rexecKernel(bridge, encodeLimit, bridgePrim) {
  "use strict";
  const UNDEF = -1, NAN = -2, POS_INF = -3, NEG_INF = -4, NEG_ZERO = -5, HOLE = -6;

  const ObjectCtor = Object;
  const ObjectProto = Object.prototype;
  const ArrayProto = Array.prototype;
  const { getPrototypeOf, keys: objectKeys, defineProperty, create: objectCreate, freeze } = Object;
  const { isArray } = Array;
  const { stringify: jsonStringify, parse: jsonParse } = JSON;
  const uncurry = (fn) => Function.prototype.call.bind(fn);
  const getterOf = (proto, name) => uncurry(Object.getOwnPropertyDescriptor(proto, name).get);
  const StringCtor = String;
  const ErrorCtor = Error;
  // Null prototype: a name such as "__proto__", "constructor" or one the guest
  // added to Object.prototype must not pick a non-error (or guest) constructor.
  const errorCtors = objectCreate(null);
  for (const C of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) errorCtors[C.name] = C;
  if (typeof AggregateError === "function") errorCtors.AggregateError = AggregateError;
  const ArrayCtor = Array, MapCtor = Map, SetCtor = Set, DateCtor = Date, RegExpCtor = RegExp, ArrayBufferCtor = ArrayBuffer;
  const mapGet = uncurry(Map.prototype.get), mapSet = uncurry(Map.prototype.set), mapHas = uncurry(Map.prototype.has), mapDelete = uncurry(Map.prototype.delete);
  const mapForEach = uncurry(Map.prototype.forEach), setForEach = uncurry(Set.prototype.forEach), setAdd = uncurry(Set.prototype.add);
  const dateGetTime = uncurry(Date.prototype.getTime);
  const regexpSource = getterOf(RegExp.prototype, "source"), regexpFlags = getterOf(RegExp.prototype, "flags");
  const abByteLength = getterOf(ArrayBuffer.prototype, "byteLength");
  const abSlice = uncurry(ArrayBuffer.prototype.slice);
  const isView = ArrayBuffer.isView;
  const TypedArrayProto = getPrototypeOf(Uint8Array.prototype);
  const typedArrayTag = uncurry(Object.getOwnPropertyDescriptor(TypedArrayProto, Symbol.toStringTag).get);
  const typedArrayBuffer = getterOf(TypedArrayProto, "buffer");
  const typedArrayOffset = getterOf(TypedArrayProto, "byteOffset");
  const typedArrayLength = getterOf(TypedArrayProto, "length");
  const dataViewBuffer = getterOf(DataView.prototype, "buffer");
  const dataViewOffset = getterOf(DataView.prototype, "byteOffset");
  const dataViewLength = getterOf(DataView.prototype, "byteLength");
  const typedArrayCtors = objectCreate(null);
  Object.assign(typedArrayCtors, {
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
  });
  const weakBrands = [];
  for (const C of [typeof WeakMap === "function" && WeakMap, typeof WeakSet === "function" && WeakSet, typeof WeakRef === "function" && WeakRef]) {
    if (C) weakBrands.push([C.name, uncurry(C === WeakRef ? C.prototype.deref : C.prototype.has)]);
  }
  const PromiseCtor = Promise;
  const promiseThen = uncurry(Promise.prototype.then);
  const objectToString = uncurry(Object.prototype.toString);
  const arrayPop = uncurry(Array.prototype.pop);
  const stringSlice = uncurry(String.prototype.slice);
  const stringCharCodeAt = uncurry(String.prototype.charCodeAt);
  // Append by *defining* elements: Array.prototype.push assigns, and assignment
  // would run setters a guest put on Array.prototype's index properties.
  const nativePush = uncurry(Array.prototype.push);
  const reflectOwnKeys = Reflect.ownKeys;
  function definingPush(arr) {
    for (let i = 1; i < arguments.length; i++) {
      defineProperty(arr, arr.length, { value: arguments[i], writable: true, enumerable: true, configurable: true });
    }
  }
  let arrayPush = nativePush;
  let serialize = (nodes) => jsonStringify(nodes);
  // Fast path unless the guest has put index properties or a toJSON on
  // Array.prototype / Object.prototype (or replaced Array.prototype's
  // prototype): checked at the start of each copy.
  const CANONICAL_INDEX = /^(0|[1-9][0-9]*)$/;
  function protosArePristine() {
    if (getPrototypeOf(ArrayProto) !== ObjectProto) return false;
    for (let p = 0; p < 2; p++) {
      const ks = reflectOwnKeys(p === 0 ? ArrayProto : ObjectProto);
      for (let i = 0; i < ks.length; i++) {
        const k = ks[i];
        if (k === "toJSON" || (typeof k === "string" && CANONICAL_INDEX.test(k))) return false;
      }
    }
    return true;
  }
  function chooseArrayOps() {
    const pristine = protosArePristine();
    arrayPush = pristine ? nativePush : definingPush;
    serialize = pristine ? (nodes) => jsonStringify(nodes) : nodesJson;
  }
  // JSON text of the node table, written here rather than by JSON.stringify of
  // the nodes: JSON.stringify would call a toJSON the guest put on
  // Array.prototype. Nodes hold only primitives and one-element slot arrays;
  // JSON.stringify of a primitive string consults no guest code.
  function slotJson(x) {
    switch (typeof x) {
      case "string": return jsonStringify(x);
      case "number": return "" + x;
      case "boolean": return x ? "true" : "false";
      default: return x === null ? "null" : "[" + slotJson(x[0]) + "]";
    }
  }
  function nodesJson(nodes) {
    let out = "[";
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      out += i === 0 ? "[" : ",[";
      for (let j = 0; j < n.length; j++) out += (j === 0 ? "" : ",") + slotJson(n[j]);
      out += "]";
    }
    return out + "]";
  }
  const reflectApply = Reflect.apply;
  const BigIntCtor = BigInt;
  const bigintToString = uncurry(BigInt.prototype.toString);

  // Brand checks: true only for genuine built-in objects, whatever their prototype says.
  const brand = (check) => (v) => { try { check(v); return true; } catch { return false; } };
  const isDate = brand(dateGetTime);
  const isRegExp = brand(regexpSource);
  const isMap = brand(mapHas);
  const isSet = brand(uncurry(Set.prototype.has));
  const isArrayBuffer = brand(abByteLength);
  const isPromise = (v) => { try { promiseThen(v); return true; } catch { return false; } };

  // Guest functions handed to the host, by id, so the host can call them later.
  const guestFnIds = new MapCtor();
  const guestFns = new MapCtor();
  let nextGuestFnId = 1;
  // Wrappers of host functions, by host id, so identity is stable across calls.
  const hostFnWrappers = new MapCtor();

  class Uncopyable {
    constructor(what) { this.what = what; }
  }

  /**
   * Flatten `root` into [json, ...arrayBuffers], or [null, reason] when it holds
   * something that cannot cross (a symbol, a WeakMap, a promise inside a value),
   * or [null, "size"] past `limit` bytes. Iterative: depth is never recursion.
   */
  function encode(root, limit) {
    const nodes = [];
    const seen = new MapCtor();
    const buffers = [];
    const bufferIds = new MapCtor();
    const work = [];
    let budget = limit;

    function node(content) {
      const index = nodes.length;
      arrayPush(nodes, content);
      return [index];
    }
    function bufferSlot(ab) {
      let id = mapGet(bufferIds, ab);
      if (id === undefined) {
        id = buffers.length;
        budget -= abByteLength(ab);
        arrayPush(buffers, ab);
        mapSet(bufferIds, ab, id);
      }
      return id;
    }
    function slot(v) {
      switch (typeof v) {
        case "string":
          budget -= v.length + 3;
          return v;
        case "number":
          budget -= 8;
          if (v !== v) return [NAN];
          if (v === Infinity) return [POS_INF];
          if (v === -Infinity) return [NEG_INF];
          if (v === 0 && 1 / v < 0) return [NEG_ZERO];
          return v;
        case "boolean":
          return v;
        case "undefined":
          return [UNDEF];
        case "bigint": {
          // Hex, sign first: the host parses hex in linear time, decimal is not.
          const text = v < 0n ? "-" + bigintToString(-v, 16) : bigintToString(v, 16);
          budget -= text.length + 8;
          return node(["n", text]);
        }
        case "symbol":
          throw new Uncopyable("a symbol");
        case "function": {
          let id = mapGet(guestFnIds, v);
          if (id === undefined) {
            id = nextGuestFnId++;
            mapSet(guestFnIds, v, id);
            mapSet(guestFns, id, v);
          }
          let name = "";
          try { name = typeof v.name === "string" ? v.name : ""; } catch {}
          return node(["f", id, name]);
        }
        case "object": {
          if (v === null) return null;
          const known = mapGet(seen, v);
          if (known !== undefined) return [known];
          const index = nodes.length;
          arrayPush(nodes, 0); // placeholder, filled when `work` is drained
          mapSet(seen, v, index);
          arrayPush(work, v, index);
          budget -= 16;
          return [index];
        }
        default:
          throw new Uncopyable(`a value of type ${typeof v}`);
      }
    }
    function fill(v) {
      const proto = getPrototypeOf(v);
      if (proto === ObjectProto || proto === null) return plainObject(v, "o");
      if (isArray(v)) {
        const length = v.length;
        const out = ["a", length];
        for (let i = 0; i < length; i++) {
          arrayPush(out, i in v ? slot(v[i]) : [HOLE]);
          if (budget < 0) throw new Uncopyable("size");
        }
        return out;
      }
      if (isView(v)) {
        const tag = typedArrayTagOrDataView(v);
        if (tag === "DataView") return ["t", tag, bufferSlot(dataViewBuffer(v)), dataViewOffset(v), dataViewLength(v)];
        return ["t", tag, bufferSlot(typedArrayBuffer(v)), typedArrayOffset(v), typedArrayLength(v)];
      }
      if (isArrayBuffer(v)) return ["b", bufferSlot(v)];
      if (isDate(v)) return ["d", slot(dateGetTime(v))];
      if (isRegExp(v)) return ["r", regexpSource(v), regexpFlags(v)];
      if (isMap(v)) {
        const out = ["m"];
        mapForEach(v, (value, key) => { arrayPush(out, slot(key), slot(value)); });
        return out;
      }
      if (isSet(v)) {
        const out = ["s"];
        setForEach(v, (value) => { arrayPush(out, slot(value)); });
        return out;
      }
      if (isPromise(v)) throw new Uncopyable("a Promise (await it before returning it)");
      for (let i = 0; i < weakBrands.length; i++) {
        if (brand(weakBrands[i][1])(v)) throw new Uncopyable(`a ${weakBrands[i][0]}`);
      }
      if (v instanceof ErrorCtor || objectToString(v) === "[object Error]") {
        const read = (key) => { const x = v[key]; return x === undefined ? undefined : StringCtor(x); };
        const name = read("name"), message = read("message"), stack = read("stack");
        budget -= (name?.length ?? 0) + (message?.length ?? 0) + (stack?.length ?? 0);
        const out = ["e", name ?? "Error", message ?? "", stack ?? ""];
        const ownKeys = objectKeys(v);
        for (let i = 0; i < ownKeys.length; i++) {
          const key = ownKeys[i];
          if (key === "name" || key === "message" || key === "stack") continue;
          arrayPush(out, key, slot(v[key]));
        }
        return out;
      }
      // Class instances and other exotic objects cross as their own enumerable data, like structuredClone.
      return plainObject(v, "o");
    }
    function typedArrayTagOrDataView(v) {
      const tag = typedArrayTag(v);
      return tag === undefined ? "DataView" : tag;
    }
    function plainObject(v, tag) {
      const ownKeys = objectKeys(v);
      const out = [tag];
      for (let i = 0; i < ownKeys.length; i++) {
        const key = ownKeys[i];
        budget -= key.length + 3;
        arrayPush(out, key, slot(v[key]));
        if (budget < 0) throw new Uncopyable("size");
      }
      return out;
    }

    // Fast path: a string root needs no table, and JSON.stringify of a
    // primitive string consults no guest code.
    if (typeof root === "string") {
      if (root.length + 16 > budget) return [null, "size"];
      return ['[["v",' + jsonStringify(root) + "]]"];
    }
    chooseArrayOps();
    try {
      const rootSlot = slot(root);
      if (!isArray(rootSlot) || rootSlot[0] < 0) {
        // A primitive root is stored as a one-element wrapper node. Any other
        // root was the first node created, so it is node 0.
        return [serialize([["v", rootSlot]])];
      }
      while (work.length > 0) {
        const index = arrayPop(work);
        const v = arrayPop(work);
        nodes[index] = fill(v);
        if (budget < 0) throw new Uncopyable("size");
      }
      const out = [serialize(nodes)];
      for (let i = 0; i < buffers.length; i++) arrayPush(out, buffers[i]);
      return out;
    } catch (error) {
      if (error instanceof Uncopyable) return [null, error.what];
      throw error;
    }
  }

  /** Rebuild a value the host encoded (same format). The host's encoder is trusted. */
  function decode(json, buffers) {
    const nodes = jsonParse(json);
    chooseArrayOps();
    // Null prototype: `values[i] = …` must not meet setters a guest put on Array.prototype.
    const values = objectCreate(null);
    const bufs = [];
    for (let i = 0; i < buffers.length; i++) arrayPush(bufs, buffers[i]);
    const resolve = (s) => {
      if (!isArray(s)) return s;
      const i = s[0];
      if (i >= 0) return values[i];
      switch (i) {
        case UNDEF: return undefined;
        case NAN: return NaN;
        case POS_INF: return Infinity;
        case NEG_INF: return -Infinity;
        case NEG_ZERO: return -0;
        default: return undefined;
      }
    };
    // Pass 1: create every container so references (and cycles) can be wired.
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      switch (n[0]) {
        case "o": values[i] = {}; break;
        case "a": values[i] = new ArrayCtor(n[1]); break;
        case "m": values[i] = new MapCtor(); break;
        case "s": values[i] = new SetCtor(); break;
        case "n": values[i] = n[1][0] === "-" ? -BigIntCtor("0x" + stringSlice(n[1], 1)) : BigIntCtor("0x" + n[1]); break;
        case "b": values[i] = bufs[n[1]]; break;
        case "r": values[i] = new RegExpCtor(n[1], n[2]); break;
        case "f": values[i] = hostFunction(n[1], n[2]); break;
        case "e": {
          const Ctor = errorCtors[n[1]] || ErrorCtor;
          const e = new Ctor(n[2]);
          if (e.name !== n[1]) defineProperty(e, "name", { value: n[1], writable: true, configurable: true, enumerable: false });
          values[i] = e;
          break;
        }
        default: break;
      }
    }
    // Pass 2: views (need their buffer) and dates (need their number).
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      if (n[0] === "t") {
        const Ctor = typedArrayCtors[n[1]];
        values[i] = n[1] === "DataView" ? new Ctor(bufs[n[2]], n[3], n[4]) : new Ctor(bufs[n[2]], n[3], n[4]);
      } else if (n[0] === "d") {
        values[i] = new DateCtor(resolve(n[1]));
      }
    }
    // Pass 3: fill containers. Keys are defined, never assigned, so "__proto__" stays data.
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      const target = values[i];
      switch (n[0]) {
        case "v": values[i] = resolve(n[1]); break;
        case "o":
          for (let j = 1; j < n.length; j += 2) defineProperty(target, n[j], { value: resolve(n[j + 1]), writable: true, enumerable: true, configurable: true });
          break;
        case "a":
          for (let j = 2; j < n.length; j++) {
            const s = n[j];
            if (isArray(s) && s[0] === HOLE) continue;
            if (arrayPush === nativePush) target[j - 2] = resolve(s);
            else defineProperty(target, j - 2, { value: resolve(s), writable: true, enumerable: true, configurable: true });
          }
          break;
        case "m":
          for (let j = 1; j < n.length; j += 2) mapSet(target, resolve(n[j]), resolve(n[j + 1]));
          break;
        case "s":
          for (let j = 1; j < n.length; j++) setAdd(target, resolve(n[j]));
          break;
        case "e":
          for (let j = 4; j < n.length; j += 2) defineProperty(target, n[j], { value: resolve(n[j + 1]), writable: true, enumerable: true, configurable: true });
          break;
        default: break;
      }
    }
    // A root "v" node may point at a later node; resolve it after everything exists.
    if (nodes[0][0] === "v") return resolve(nodes[0][1]);
    return values[0];
  }

  /** The guest-side face of a host function: copies arguments out, result in. */
  function hostFunction(id, name) {
    let wrapper = mapGet(hostFnWrappers, id);
    if (wrapper) return wrapper;
    // One guest function per host function, named like it; it is and stays a
    // plain guest function (arrow: not a constructor, no own prototype).
    wrapper = {
      [name]: (...args) => {
        // Fast path: a few plain primitives cross as themselves (the host
        // re-checks each one); everything else goes through the codec.
        const n = args.length;
        if (n <= 8) {
          // Two bits per argument tell the host how to read it: 0 number,
          // 1 boolean, 2 undefined, 3 string (the host's reads convert, so a
          // wrong tag can only yield a wrong primitive, never a host object).
          let tags = 0;
          let scale = 1;
          let plain = true;
          for (let i = 0; i < n; i++) {
            const a = args[i];
            const t = typeof a;
            if (t === "number") {
              // tag 0
            } else if (t === "boolean") tags += scale;
            else if (t === "undefined") tags += 2 * scale;
            else if (isPlainPrimitive(a)) tags += 3 * scale;
            else { plain = false; break; }
            scale *= 4;
          }
          if (plain) {
            switch (n) {
              case 0: return bridgePrim(id, 0);
              case 1: return bridgePrim(id, tags, args[0]);
              case 2: return bridgePrim(id, tags, args[0], args[1]);
              case 3: return bridgePrim(id, tags, args[0], args[1], args[2]);
              default: {
                const callArgs = [id, tags];
                for (let i = 0; i < n; i++) arrayPush(callArgs, args[i]);
                return reflectApply(bridgePrim, undefined, callArgs);
              }
            }
          }
        }
        // Binary copy (bjsonSafe): the host copies the arguments with the engine's C writer.
        if (bjsonSafe(args, encodeLimit)) return reflectApply(bridge, undefined, ["callValue", id, args]);
        const encoded = encode(args, encodeLimit);
        if (encoded[0] === null) {
          throw new TypeError(encoded[1] === "size"
            ? `arguments to host function ${name} are too large to copy`
            : `cannot pass ${encoded[1]} to host function ${name}`);
        }
        const callArgs = ["call", id];
        for (let i = 0; i < encoded.length; i++) arrayPush(callArgs, encoded[i]);
        return reflectApply(bridge, undefined, callArgs);
      },
    }[name];
    mapSet(hostFnWrappers, id, wrapper);
    return wrapper;
  }

  /**
   * A primitive the engine can pass to the host as itself: numbers, booleans,
   * undefined, and short strings without NUL, surrogates or U+FFFD (the host reads
   * strings as C strings, which stop at NUL and are lossy for lone surrogates).
   */
  function isPlainPrimitive(v) {
    const t = typeof v;
    if (t === "number" || t === "boolean" || t === "undefined") return true;
    if (t !== "string" || v.length > 4096) return false;
    for (let i = 0; i < v.length; i++) {
      const c = stringCharCodeAt(v, i);
      // U+FFFD too: the host refuses it on this path (it is how a lost surrogate looks).
      if (c === 0 || (c >= 0xd800 && c <= 0xdfff) || c === 0xfffd) return false;
    }
    return true;
  }

  /** Call a guest function the host holds by id, with primitive arguments passed as themselves. */
  function callGuestPrim(id, ...args) {
    const fn = mapGet(guestFns, id);
    if (fn === undefined) throw new TypeError("this guest function is no longer available");
    return reflectApply(fn, undefined, args);
  }

  /** Call a guest function the host holds by id, with host-encoded arguments. */
  function callGuest(id, json, ...buffers) {
    const fn = mapGet(guestFns, id);
    if (fn === undefined) throw new TypeError("this guest function is no longer available");
    const args = decode(json, buffers);
    return reflectApply(fn, undefined, args);
  }

  function releaseGuest(id) {
    const fn = mapGet(guestFns, id);
    if (fn !== undefined) {
      mapDelete(guestFns, id);
      mapDelete(guestFnIds, fn);
    }
  }

  /** Make a plain guest error from a host error's name and message (and nothing else). */
  function makeError(name, message) {
    const Ctor = errorCtors[name] || ErrorCtor;
    const e = new Ctor(message);
    if (e.name !== name) defineProperty(e, "name", { value: name, writable: true, configurable: true, enumerable: false });
    return e;
  }

  function encodeFor(value, limit) {
    return encode(value, limit);
  }

  function defineGlobal(name, json, ...buffers) {
    defineProperty(globalThis, name, { value: decode(json, buffers), writable: true, configurable: true, enumerable: false });
  }

  function isPromiseValue(v) {
    return typeof v === "object" && v !== null && isPromise(v);
  }

  /** The tenant's result limit: set after a realm image is restored (it is per sandbox, not per image). */
  function setEncodeLimit(limit) {
    encodeLimit = limit;
  }

  // ---- Binary copy (src/boundary/bjson/): the guest-side gate. ----
  // The host may copy a value out with the engine's C writer (JS_WriteObject)
  // only after bjsonSafe(value) said yes: that writer never polls the
  // interrupt handler, reads array elements with ordinary [[Get]] (running
  // getters and, through holes, whatever the prototype chain holds), and
  // loops over an array's full length (a hole costs no memory, so a length of
  // 2^32-1 runs for minutes). bjsonSafe runs no guest code itself: proxies are
  // recognised by the registry below (the constructor is wrapped before any
  // guest code runs), values are read through property descriptors (a getter
  // is seen, never called), Maps and Sets through captured intrinsics.
  const NativeProxy = Proxy;
  const nativeRevocable = Proxy.revocable;
  const proxies = new WeakSet();
  const weakSetAdd = uncurry(WeakSet.prototype.add), weakSetHas = uncurry(WeakSet.prototype.has);
  const reflectConstruct = Reflect.construct;
  const getOwnPropertySymbols = Object.getOwnPropertySymbols;
  // Annex B, but no allocation per property (a descriptor object costs 6x more here).
  const lookupGetter = uncurry(ObjectProto.__lookupGetter__);
  const setHas = uncurry(Set.prototype.has);
  {
    // A bound function: like Proxy, a constructor without a `prototype` property.
    const proxyShim = reflectApply(Function.prototype.bind, function Proxy(target, handler) {
      if (new.target === undefined) throw new TypeError("Constructor Proxy requires 'new'");
      const p = reflectConstruct(NativeProxy, [target, handler]);
      weakSetAdd(proxies, p);
      return p;
    }, [undefined]);
    defineProperty(proxyShim, "name", { value: "Proxy", configurable: true });
    defineProperty(proxyShim, "revocable", {
      value: function revocable(target, handler) {
        const r = nativeRevocable(target, handler);
        weakSetAdd(proxies, r.proxy);
        return r;
      },
      writable: true,
      configurable: true,
    });
    defineProperty(globalThis, "Proxy", { value: proxyShim, writable: true, configurable: true, enumerable: false });
  }

  /**
   * True when the C writer may run on `root`: every object it would visit is
   * a genuine non-proxy object, every array is dense with data elements only,
   * no property it would read is an accessor or symbol-keyed, no function or
   * symbol is reachable, and the whole is estimated within `limit` bytes.
   * Anything else (or any doubt) is false and the host uses encode() above.
   */
  const BJSON_MAX_DEPTH = 200;
  function bjsonSafe(root, limit) {
    if (typeof root !== "object" || root === null) return false;
    chooseArrayOps();
    try {
      const seen = new SetCtor();
      // Depth-first, with each object's depth beside it: the C writer and reader
      // recurse, on the host's native stack too, so deep values take the flat codec.
      const stack = [root, 0];
      let budget = limit;
      let ok = true;
      let depth = 0;
      // Account one child value; false when it rules the copy out (a function or a symbol).
      const child = (x) => {
        const t = typeof x;
        if (t === "object") {
          if (x !== null && !setHas(seen, x)) { setAdd(seen, x); arrayPush(stack, x, depth + 1); }
          budget -= 8;
        } else if (t === "string") budget -= x.length + 3;
        else if (t === "function" || t === "symbol") return false;
        else budget -= 16;
        return true;
      };
      const entry = (value, key) => { ok = ok && child(key) && child(value); };
      setAdd(seen, root);
      while (stack.length > 0) {
        depth = arrayPop(stack);
        const v = arrayPop(stack);
        if (depth > BJSON_MAX_DEPTH || weakSetHas(proxies, v)) return false;
        budget -= 16;
        let keys;
        if (isArray(v)) {
          const length = v.length;
          if (length > budget) return false;
          // Index keys come first, ascending: exactly 0..length-1 means no hole and no other key.
          keys = objectKeys(v);
          if (keys.length !== length || (length > 0 && keys[length - 1] !== StringCtor(length - 1))) return false;
        } else {
          // Identity first (no exception for the common case), brand checks for anything else:
          // a Map subclass must be walked as a Map, since the writer writes its entries.
          const proto = getPrototypeOf(v);
          if (proto === ObjectProto || proto === null) {
            keys = objectKeys(v);
          } else if (isView(v)) {
            if (typedArrayTag(v) === undefined) return false; // DataView: the writer refuses it
            budget -= abByteLength(typedArrayBuffer(v));
            continue;
          } else if (isMap(v)) {
            ok = true;
            mapForEach(v, entry);
            if (!ok) return false;
            continue;
          } else if (isSet(v)) {
            ok = true;
            setForEach(v, entry);
            if (!ok) return false;
            continue;
          } else if (isArrayBuffer(v)) {
            budget -= abByteLength(v);
            continue;
          } else if (isDate(v)) {
            continue; // its time value only
          } else if (isRegExp(v)) {
            return false; // written as engine bytecode: the host does not read it
          } else {
            keys = objectKeys(v);
          }
        }
        // The writer also writes enumerable symbol-keyed properties (the host then refuses them).
        if (getOwnPropertySymbols(v).length !== 0) return false;
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i];
          // An accessor is seen, never called (a setter-only one reads as undefined
          // without a call, and the writer then refuses it); a data property is read as itself.
          if (lookupGetter(v, k) !== undefined) return false;
          const x = v[k];
          const t = typeof x;
          if (t === "object") {
            if (x !== null && !setHas(seen, x)) { setAdd(seen, x); arrayPush(stack, x, depth + 1); }
            budget -= 8 + k.length;
          } else if (t === "string") budget -= x.length + 3 + k.length;
          else if (t === "function" || t === "symbol") return false;
          else budget -= 16 + k.length;
        }
        if (budget < 0) return false;
      }
      return true;
    } catch {
      return false; // a revoked proxy, a module namespace in its dead zone…: the old codec decides
    }
  }

  /** Probes the host reads the build's typed-array tags from (bjson/atoms.ts). */
  function bjsonProbe() {
    chooseArrayOps();
    const out = [];
    const names = objectKeys(typedArrayCtors);
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== "DataView") arrayPush(out, names[i], new typedArrayCtors[names[i]](0));
    }
    return out;
  }

  /** Call a guest function the host holds by id with an arguments array the host copied in. */
  function callGuestWith(id, args) {
    const fn = mapGet(guestFns, id);
    if (fn === undefined) throw new TypeError("this guest function is no longer available");
    return reflectApply(fn, undefined, args);
  }

  function defineGlobalValue(name, value) {
    defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
  // ---- end of the binary-copy gate ----

  return freeze({
    setEncodeLimit,
    encode: encodeFor,
    decode: (json, ...buffers) => decode(json, buffers),
    callGuest,
    callGuestPrim,
    releaseGuest,
    makeError,
    defineGlobal,
    isPromise: isPromiseValue,
    // Binary copy (see bjsonSafe).
    bjsonSafe,
    bjsonProbe,
    callGuestWith,
    defineGlobalValue,
  });
})
