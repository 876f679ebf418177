// Native loop guards. QuickJS polls its interrupt handler only while running
// bytecode, so a builtin that loops in C over a guest-chosen `length` — e.g.
// `Array.prototype.indexOf.call({ length: 2 ** 53 }, 1)` or
// `new Array(2 ** 32 - 1).join("")` — would run past `timeoutMs` for as long as
// the guest likes, and no memory grows to stop it (ENGINE-FACTS, fact 3).
//
// So before any guest code runs, the generic Array.prototype methods are
// replaced by wrappers that call the native method only when the length is
// small enough for its loop to be short (`nativeMax`), and otherwise run an
// equivalent loop written in JavaScript, which the interrupt handler can stop.
// Methods without such a fallback refuse huge lengths with a RangeError. The
// originals are kept only in this closure.
//
// `fill` is guarded too: on an array-like whose prototype is a typed array,
// `Array.prototype.fill.call({ length: 2 ** 53, __proto__: new Uint8Array(0) })`
// writes nothing anywhere (out-of-range typed-array writes are dropped), so no
// memory grows to stop its loop.
//
// Joining turns each element into text in C (~1.2 µs per double): above
// JOIN_NATIVE_MAX elements arrays and typed arrays join in JavaScript.
//
// A second mechanism bounds *loops* of long native calls: QuickJS calls its
// interrupt handler only every so many polls (up to 10000 backward jumps or
// calls), however long the natives between them run. After a native call on a
// big input (more than POLL_AFTER elements or characters), the guards call the
// host's `poll`, which makes the engine's very next poll check the deadline
// (see src/engine/interrupt-pacer.ts). Single native calls are still bounded
// only by what memory lets the guest build; SECURITY.md ("CPU shapes") lists
// them with their measured worst cases.
(function rexecNativeGuards(setup) {
  "use strict";
  const { nativeMax, refuseMax, poll } = setup;
  const POLL_AFTER = 2 ** 18;
  const JOIN_NATIVE_MAX = 2 ** 16;
  // After a possibly long native: the engine checks the deadline at its next
  // poll. Without poll pacing, the host answers true once the budget is spent
  // and this loop runs bytecode until the interrupt handler stops it.
  const afterLong = () => {
    if (poll()) for (;;) {}
  };
  const AP = Array.prototype;
  const { defineProperty, getOwnPropertyDescriptor } = Object;
  const apply = Reflect.apply;
  // Function.prototype through a function we hold: the global `Function` may be
  // gone already (nokBuiltinNames is applied by the prelude, before the guards).
  const FunctionPrototype = Object.getPrototypeOf(apply);
  const FunctionCall = FunctionPrototype.call;
  const bind = (fn, self) => apply(FunctionPrototype.bind, fn, [self]);
  const isArray = Array.isArray;
  const StringCtor = String;
  const ObjectCtor = Object;
  const MathMax = Math.max, MathMin = Math.min, MathTrunc = Math.trunc;
  const uncurryGetter = (proto, key) => {
    const get = getOwnPropertyDescriptor(proto, key).get;
    return (v) => apply(get, v, []);
  };

  const toObject = (v, name) => {
    if (v === null || v === undefined) throw new TypeError(`Array.prototype.${name} called on null or undefined`);
    return ObjectCtor(v);
  };
  const toLength = (v) => {
    const n = Number(v);
    if (!(n > 0)) return 0;
    return MathMin(MathTrunc(n), 2 ** 53 - 1);
  };
  const toInteger = (v) => {
    const n = Number(v);
    if (n !== n) return 0;
    return MathTrunc(n);
  };
  const relative = (v, len, dflt) => {
    if (v === undefined) return dflt;
    const r = toInteger(v);
    return r < 0 ? MathMax(len + r, 0) : MathMin(r, len);
  };
  const callable = (fn, name) => {
    if (typeof fn !== "function") throw new TypeError(`${StringCtor(fn)} is not a function (Array.prototype.${name})`);
    return fn;
  };
  const sameValueZero = (a, b) => a === b || (a !== a && b !== b);

  // JavaScript versions of the loops, used above nativeMax. Same results as
  // the natives for ordinary values; what matters is that they are bytecode.
  const fallbacks = {
    indexOf(O, len, search, from) {
      for (let k = relative(from, len, 0); k < len; k++) if (k in O && O[k] === search) return k;
      return -1;
    },
    lastIndexOf(O, len, search, ...rest) {
      let k = rest.length ? toInteger(rest[0]) : len - 1;
      k = k < 0 ? len + k : MathMin(k, len - 1);
      for (; k >= 0; k--) if (k in O && O[k] === search) return k;
      return -1;
    },
    includes(O, len, search, from) {
      for (let k = relative(from, len, 0); k < len; k++) if (sameValueZero(O[k], search)) return true;
      return false;
    },
    join(O, len, separator) {
      const sep = separator === undefined ? "," : StringCtor(separator);
      let out = "";
      for (let k = 0; k < len; k++) {
        if (k > 0) out += sep;
        const v = O[k];
        if (v !== undefined && v !== null) out += StringCtor(v);
      }
      return out;
    },
    forEach(O, len, fn, thisArg) {
      callable(fn, "forEach");
      for (let k = 0; k < len; k++) if (k in O) apply(fn, thisArg, [O[k], k, O]);
      return undefined;
    },
    some(O, len, fn, thisArg) {
      callable(fn, "some");
      for (let k = 0; k < len; k++) if (k in O && apply(fn, thisArg, [O[k], k, O])) return true;
      return false;
    },
    every(O, len, fn, thisArg) {
      callable(fn, "every");
      for (let k = 0; k < len; k++) if (k in O && !apply(fn, thisArg, [O[k], k, O])) return false;
      return true;
    },
    find(O, len, fn, thisArg) {
      callable(fn, "find");
      for (let k = 0; k < len; k++) { const v = O[k]; if (apply(fn, thisArg, [v, k, O])) return v; }
      return undefined;
    },
    findIndex(O, len, fn, thisArg) {
      callable(fn, "findIndex");
      for (let k = 0; k < len; k++) if (apply(fn, thisArg, [O[k], k, O])) return k;
      return -1;
    },
    findLast(O, len, fn, thisArg) {
      callable(fn, "findLast");
      for (let k = len - 1; k >= 0; k--) { const v = O[k]; if (apply(fn, thisArg, [v, k, O])) return v; }
      return undefined;
    },
    findLastIndex(O, len, fn, thisArg) {
      callable(fn, "findLastIndex");
      for (let k = len - 1; k >= 0; k--) if (apply(fn, thisArg, [O[k], k, O])) return k;
      return -1;
    },
    reduce(O, len, fn, ...init) {
      callable(fn, "reduce");
      let k = 0, acc;
      if (init.length) acc = init[0];
      else {
        while (k < len && !(k in O)) k++;
        if (k >= len) throw new TypeError("Reduce of empty array with no initial value");
        acc = O[k++];
      }
      for (; k < len; k++) if (k in O) acc = fn(acc, O[k], k, O);
      return acc;
    },
    reduceRight(O, len, fn, ...init) {
      callable(fn, "reduceRight");
      let k = len - 1, acc;
      if (init.length) acc = init[0];
      else {
        while (k >= 0 && !(k in O)) k--;
        if (k < 0) throw new TypeError("Reduce of empty array with no initial value");
        acc = O[k--];
      }
      for (; k >= 0; k--) if (k in O) acc = fn(acc, O[k], k, O);
      return acc;
    },
    fill(O, len, value, start, end) {
      const last = relative(end, len, len);
      for (let k = relative(start, len, 0); k < last; k++) O[k] = value;
      return O;
    },
    reverse(O, len) {
      for (let lo = 0, hi = len - 1; lo < hi; lo++, hi--) {
        const hasLo = lo in O, hasHi = hi in O;
        const vLo = O[lo], vHi = O[hi];
        if (hasHi) O[lo] = vHi; else delete O[lo];
        if (hasLo) O[hi] = vLo; else delete O[hi];
      }
      return O;
    },
  };
  fallbacks.toString = (O, len) => fallbacks.join(O, len, undefined);

  const define = (A, i, v) => defineProperty(A, i, { value: v, writable: true, enumerable: true, configurable: true });
  const spreadable = (E) => {
    if (E === null || (typeof E !== "object" && typeof E !== "function")) return false;
    const flag = E[Symbol.isConcatSpreadable];
    return flag !== undefined ? !!flag : isArray(E);
  };
  // flat/flatMap walk nested arrays whose lengths the wrapper cannot see in
  // advance, and concat walks its arguments: these always run as JavaScript.
  function flatInto(A, src, depth) {
    const len = toLength(src.length);
    for (let k = 0; k < len; k++) {
      if (!(k in src)) continue;
      const v = src[k];
      if (depth > 0 && isArray(v)) flatInto(A, v, depth - 1);
      else define(A, A.length, v);
    }
  }
  const always = {
    flat(...args) {
      const O = toObject(this, "flat");
      const depth = args[0] === undefined ? 1 : toInteger(args[0]);
      const A = [];
      flatInto(A, O, depth);
      return A;
    },
    flatMap(fn, thisArg) {
      const O = toObject(this, "flatMap");
      callable(fn, "flatMap");
      const len = toLength(O.length);
      const A = [];
      for (let k = 0; k < len; k++) {
        if (!(k in O)) continue;
        const v = apply(fn, thisArg, [O[k], k, O]);
        if (isArray(v)) flatInto(A, v, 0);
        else define(A, A.length, v);
      }
      return A;
    },
  };
  const nativeConcat = AP.concat;
  always.concat = function concat(...items) {
    const O = toObject(this, "concat");
    let big = false;
    for (const E of [O, ...items]) if (spreadable(E) && toLength(E.length) > nativeMax) big = true;
    if (!big) return apply(nativeConcat, O, items);
    const A = [];
    let n = 0;
    for (const E of [O, ...items]) {
      if (!spreadable(E)) { define(A, n++, E); continue; }
      const len = toLength(E.length);
      for (let k = 0; k < len; k++, n++) if (k in E) define(A, n, E[k]);
    }
    A.length = n;
    return A;
  };

  // Array natives over more than this many elements are followed by a poll: a
  // native sort of 2^15 elements is ~10–30 ms, and a guest can call one from
  // many getters (or leftover jobs) before the engine's next scheduled poll.
  const ARRAY_POLL_AFTER = 2 ** 14;
  /** Sorting is superlinear: a poll after every sort of more than 2^10 elements (~0.1 ms of sorting). */
  const SORT_POLL_AFTER = 2 ** 10;

  // Methods with no fallback: refused above refuseMax, run natively below it.
  const refused = ["slice", "splice", "sort", "map", "filter", "copyWithin", "shift", "unshift",
    "toReversed", "toSorted", "toSpliced", "with", "toLocaleString"];

  function guard(name, fallback) {
    const desc = getOwnPropertyDescriptor(AP, name);
    if (!desc || typeof desc.value !== "function") return;
    const native = desc.value;
    const max = name === "join" || name === "toString" ? JOIN_NATIVE_MAX : nativeMax;
    const isSort = name === "sort" || name === "toSorted";
    const wrapper = {
      [name](...args) {
        const O = toObject(this, name);
        const len = toLength(O.length);
        if ((name === "sort" || name === "toSorted") && args[0] === undefined && len > SORT_NATIVE_MAX && len <= refuseMax) {
          return apply(native, O, [defaultOrder]);
        }
        // A real array's fill writes elements it then holds: memory bounds it.
        if (len <= max || (isArray(O) && (fallback === undefined ? len <= refuseMax : name === "fill"))) {
          const result = apply(native, O, args);
          if (len > (isSort ? SORT_POLL_AFTER : ARRAY_POLL_AFTER)) afterLong();
          return result;
        }
        if (fallback !== undefined) return fallback(O, len, ...args);
        throw new RangeError(`Array.prototype.${name} over ${len} elements is refused in rexec: the engine cannot interrupt a native loop that long`);
      },
    }[name];
    defineProperty(wrapper, "length", { value: native.length, configurable: true });
    defineProperty(AP, name, { value: wrapper, writable: desc.writable, enumerable: desc.enumerable, configurable: desc.configurable });
  }
  // Sorting is superlinear: a native default-order sort of a million elements
  // runs for over a second without a poll (262k: ~0.3 s). Above SORT_NATIVE_MAX elements a
  // sort without a comparator gets one that implements the default order in
  // JavaScript, so each comparison is bytecode the deadline can stop.
  const SORT_NATIVE_MAX = 2 ** 18;
  const defaultOrder = (x, y) => {
    const a = StringCtor(x), b = StringCtor(y);
    return a < b ? -1 : a > b ? 1 : 0;
  };
  const numericOrder = (x, y) => {
    if (x !== x) return y !== y ? 0 : 1;
    if (y !== y) return -1;
    if (x < y) return -1;
    if (x > y) return 1;
    if (x === 0 && y === 0) {
      const nx = 1 / x < 0, ny = 1 / y < 0;
      return nx === ny ? 0 : nx ? -1 : 1;
    }
    return 0;
  };
  function guardSort(proto, name, order, lengthOf) {
    const desc = getOwnPropertyDescriptor(proto, name);
    if (!desc || typeof desc.value !== "function") return;
    const native = desc.value;
    const wrapper = {
      [name](compare) {
        const len = lengthOf(this);
        if (compare === undefined && len > SORT_NATIVE_MAX) return apply(native, this, [order]);
        const result = apply(native, this, arguments.length ? [compare] : []);
        if (len > SORT_POLL_AFTER) afterLong();
        return result;
      },
    }[name];
    defineProperty(wrapper, "length", { value: native.length, configurable: true });
    defineProperty(proto, name, { value: wrapper, writable: desc.writable, enumerable: desc.enumerable, configurable: desc.configurable });
  }
  const TypedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  const typedLength = uncurryGetter(TypedArrayProto, "length");
  for (const name of ["sort", "toSorted"]) {
    // Typed arrays: the brand-checked length; anything else makes the native throw as usual.
    guardSort(TypedArrayProto, name, numericOrder, (v) => { try { return typedLength(v); } catch { return 0; } });
  }

  // Iterator.prototype.drop(n) advances its source n times in C, with no poll
  // and nothing allocated: `new Array(2 ** 32 - 1).values().drop(2 ** 32 - 2)`
  // would run for minutes. Above nativeMax, the skipping is done by a
  // JavaScript iterator that the native drop(0) then wraps, so the result is
  // still a genuine iterator helper.
  if (typeof Iterator === "function" && Iterator.prototype && typeof Iterator.prototype.drop === "function") {
    const IteratorProto = Iterator.prototype;
    const nativeDrop = IteratorProto.drop;
    const { setPrototypeOf } = Object;
    const drop = {
      drop(limit) {
        const n = Number(limit);
        if (!(n > nativeMax) || n !== n) return apply(nativeDrop, this, [limit]);
        const source = this;
        if (source === null || (typeof source !== "object" && typeof source !== "function")) return apply(nativeDrop, source, [limit]);
        const next = source.next;
        let remaining = n === Infinity ? Infinity : MathTrunc(n);
        const skipper = setPrototypeOf({
          next() {
            for (; remaining > 0; remaining--) {
              const r = apply(next, source, []);
              if (r === null || typeof r !== "object") throw new TypeError("iterator result is not an object");
              if (r.done) { remaining = 0; return r; }
            }
            return apply(next, source, []);
          },
          return() {
            const ret = source.return;
            return ret === undefined ? { value: undefined, done: true } : apply(ret, source, []);
          },
        }, IteratorProto);
        return apply(nativeDrop, skipper, [0]);
      },
    }.drop;
    const desc = getOwnPropertyDescriptor(IteratorProto, "drop");
    defineProperty(drop, "length", { value: nativeDrop.length, configurable: true });
    defineProperty(IteratorProto, "drop", { value: drop, writable: desc.writable, enumerable: desc.enumerable, configurable: desc.configurable });
  }

  // Typed arrays: join in C turns every element into text; above
  // JOIN_NATIVE_MAX elements it runs as the JavaScript loop (the brand-checked
  // length decides, so nothing guest-defined is consulted).
  {
    const desc = getOwnPropertyDescriptor(TypedArrayProto, "join");
    const native = desc.value;
    const join = {
      join(separator) {
        let len = 0;
        try { len = typedLength(this); } catch { /* not a typed array: the native throws */ }
        if (len <= JOIN_NATIVE_MAX) return apply(native, this, arguments.length ? [separator] : []);
        return fallbacks.join(this, len, separator);
      },
    }.join;
    defineProperty(join, "length", { value: native.length, configurable: true });
    defineProperty(TypedArrayProto, "join", { value: join, writable: desc.writable, enumerable: desc.enumerable, configurable: desc.configurable });
  }

  // String and RegExp methods whose C loops run per character or per match
  // (~0.25 µs per regex match), JSON, and normalization: a poll after each
  // call on a big input, so a loop of them ends at the deadline.
  // Hot paths: these wrappers run on every call, so they pass a fixed number
  // of arguments (the native's `length`; for these methods an absent argument
  // and `undefined` mean the same) instead of building an `arguments` object,
  // and test the size inline.
  function pollAfter(obj, key, which) {
    const desc = getOwnPropertyDescriptor(obj, key);
    if (!desc || typeof desc.value !== "function") return;
    const native = desc.value;
    // `call` bound to the native: no argument array per call (cheaper than Reflect.apply).
    const invoke = bind(FunctionCall, native);
    const name = typeof key === "symbol" ? `[${key.description}]` : key;
    let wrapper;
    if (which === "this") {
      wrapper = {
        [name](a, b) {
          const result = invoke(this, a, b);
          if (typeof this === "string" && this.length > POLL_AFTER) afterLong();
          return result;
        },
      }[name];
    } else if (which === "arg") {
      wrapper = {
        [name](a, b) {
          const result = invoke(this, a, b);
          if (typeof a === "string" && a.length > POLL_AFTER) afterLong();
          return result;
        },
      }[name];
    } else {
      wrapper = {
        [name](a, b, c) {
          const result = invoke(this, a, b, c);
          if (typeof result === "string" && result.length > POLL_AFTER) afterLong();
          return result;
        },
      }[name];
    }
    defineProperty(wrapper, "name", { value: native.name, configurable: true });
    defineProperty(wrapper, "length", { value: native.length, configurable: true });
    defineProperty(obj, key, { value: wrapper, writable: desc.writable, enumerable: desc.enumerable, configurable: desc.configurable });
  }
  for (const name of ["replace", "replaceAll", "split", "match", "search", "normalize", "localeCompare", "indexOf", "lastIndexOf", "includes"]) {
    pollAfter(String.prototype, name, "this");
  }
  for (const key of [Symbol.replace, Symbol.split, Symbol.match, Symbol.search]) pollAfter(RegExp.prototype, key, "arg");
  pollAfter(JSON, "parse", "arg");
  pollAfter(JSON, "stringify", "result");

  // BigInt text conversions are super-linear in QuickJS (measured: parsing 2^16
  // decimal digits ~0.1 s, 2^17 ~0.2 s, 3e5 up to seconds; printing 2^17
  // digits ~0.9 s). Parsing: decimal strings longer than BIGINT_DIGITS_MAX are
  // refused (hexadecimal parses in linear time and stays unlimited), and every
  // parse of more than BIGINT_POLL_AFTER characters is followed by a poll, so a
  // loop of them stops at the deadline. Printing: a poll after every long
  // result. Implicit conversions (`String(x)`, templates, `x + ""`) cannot be
  // wrapped: a single one of a huge BigInt is bounded only by worker mode (see
  // SECURITY.md, CPU shapes).
  const BIGINT_DIGITS_MAX = 2 ** 16;
  const BIGINT_POLL_AFTER = 2 ** 12;
  const NativeBigInt = BigInt;
  const bigintToString = NativeBigInt.prototype.toString;
  const stringTrim = String.prototype.trim;
  const stringSlice = String.prototype.slice;
  const isRadixPrefixed = (text) => {
    const head = apply(stringSlice, apply(stringTrim, text, []), [0, 2]);
    return head === "0x" || head === "0X" || head === "0o" || head === "0O" || head === "0b" || head === "0B";
  };
  const BigIntGuard = {
    BigInt(value) {
      if (typeof value === "string" && value.length > BIGINT_DIGITS_MAX && !isRadixPrefixed(value)) {
        throw new RangeError(`BigInt: refusing to parse ${value.length} decimal characters (the limit is ${BIGINT_DIGITS_MAX}; decimal parsing is quadratic); pass hexadecimal ("0x…") for bigger numbers`);
      }
      const result = NativeBigInt(value);
      if (typeof value === "string" && value.length > BIGINT_POLL_AFTER) afterLong();
      return result;
    },
  }.BigInt;
  for (const key of ["asIntN", "asUintN"]) defineProperty(BigIntGuard, key, getOwnPropertyDescriptor(NativeBigInt, key));
  defineProperty(BigIntGuard, "prototype", { value: NativeBigInt.prototype, writable: false, enumerable: false, configurable: false });
  defineProperty(BigIntGuard, "length", { value: 1, configurable: true });
  defineProperty(NativeBigInt.prototype, "constructor", { value: BigIntGuard, writable: true, enumerable: false, configurable: true });
  defineProperty(globalThis, "BigInt", { value: BigIntGuard, writable: true, enumerable: false, configurable: true });
  defineProperty(NativeBigInt.prototype, "toString", {
    value: {
      toString(radix) {
        const text = apply(bigintToString, this, [radix]);
        if (text.length > BIGINT_POLL_AFTER) afterLong();
        return text;
      },
    }.toString,
    writable: true,
    enumerable: false,
    configurable: true,
  });

  for (const name of Object.keys(fallbacks)) guard(name, fallbacks[name]);
  for (const name of refused) guard(name, undefined);
  for (const name of Object.keys(always)) {
    const desc = getOwnPropertyDescriptor(AP, name);
    if (!desc) continue;
    defineProperty(always[name], "length", { value: desc.value.length, configurable: true });
    defineProperty(AP, name, { value: always[name], writable: desc.writable, enumerable: desc.enumerable, configurable: desc.configurable });
  }
})
