// Guest-side setup of the capabilities the host API grants every realm: a
// console, exit(), and a restricted `process`. Evaluated after the kernel and
// before any guest code; it evaluates to a function the host calls once with
// copies of its configuration and wrappers of its native host functions.
//
// Nothing here is a host object: `natives.write` and `natives.exit` are guest
// wrappers around host functions (arguments copied out, results copied in),
// and `process` is a plain guest object built from copied strings. What a
// guest does to these objects affects only itself.
(function rexecPrelude(setup) {
  "use strict";
  const { natives, config } = setup;
  const write = natives.write;
  const hostExit = natives.exit;
  const { sleep, cancel, readStdin } = natives;
  const { defineProperty, freeze, keys, getPrototypeOf } = Object;
  const StringCtor = String;
  const isArray = Array.isArray;
  // Captured: the guest may replace Promise.prototype.then, and must not get
  // hold of the timers' internal callbacks through it (it could re-arm a
  // timer at will — see guest-timers.ts).
  const promiseThen = Promise.prototype.then;
  const applyFn = Reflect.apply;

  // --- exit ------------------------------------------------------------------
  // Host-side, exit() stops the guest at the engine's next poll (uncatchably)
  // and the host sees SystemExit. The throw below unwinds the current frame
  // right away so no statement after exit() runs in ordinary code.
  class ExitSignal extends Error {}
  function exit(code) {
    const n = code === undefined ? 0 : Number(code);
    hostExit(Number.isInteger(n) ? n : 1);
    throw new ExitSignal("exit");
  }

  // --- console ---------------------------------------------------------------
  const MAX_DEPTH = 4, MAX_ITEMS = 100;
  function inspect(value, depth, seen) {
    switch (typeof value) {
      case "string": return depth === 0 ? value : JSON.stringify(value);
      case "number": return Object.is(value, -0) ? "-0" : StringCtor(value);
      case "bigint": return `${value}n`;
      case "undefined": return "undefined";
      case "boolean": return StringCtor(value);
      case "symbol": return value.toString();
      case "function": return `[Function: ${value.name || "(anonymous)"}]`;
    }
    if (value === null) return "null";
    if (seen.includes(value)) return "[Circular]";
    if (value instanceof Error) return value.stack ? `${value.name}: ${value.message}\n${value.stack}` : `${value.name}: ${value.message}`;
    if (value instanceof Date) return isNaN(value) ? "Invalid Date" : value.toISOString();
    if (value instanceof RegExp) return StringCtor(value);
    if (depth > MAX_DEPTH) return isArray(value) ? "[Array]" : "[Object]";
    const inner = seen.concat([value]);
    const show = (v) => inspect(v, depth + 1, inner);
    if (isArray(value)) {
      const items = value.slice(0, MAX_ITEMS).map(show);
      if (value.length > MAX_ITEMS) items.push(`... ${value.length - MAX_ITEMS} more items`);
      return `[ ${items.join(", ")} ]`.replace("[  ]", "[]");
    }
    if (value instanceof Map) return `Map(${value.size}) { ${[...value].slice(0, MAX_ITEMS).map(([k, v]) => `${show(k)} => ${show(v)}`).join(", ")} }`;
    if (value instanceof Set) return `Set(${value.size}) { ${[...value].slice(0, MAX_ITEMS).map(show).join(", ")} }`;
    if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.length}) [ ${Array.prototype.slice.call(value, 0, MAX_ITEMS).join(", ")} ]`;
    const proto = getPrototypeOf(value);
    const prefix = proto && proto !== Object.prototype && proto.constructor && proto.constructor.name ? `${proto.constructor.name} ` : "";
    const ks = keys(value);
    const items = ks.slice(0, MAX_ITEMS).map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${show(value[k])}`);
    if (ks.length > MAX_ITEMS) items.push(`... ${ks.length - MAX_ITEMS} more`);
    return items.length ? `${prefix}{ ${items.join(", ")} }` : `${prefix}{}`;
  }
  function format(args) {
    let first = args[0];
    let rest = 1;
    let out;
    if (typeof first === "string" && first.includes("%")) {
      out = first.replace(/%[sdifjoO%]/g, (m) => {
        if (m === "%%") return "%";
        if (rest >= args.length) return m;
        const v = args[rest++];
        switch (m) {
          case "%s": return typeof v === "string" ? v : inspect(v, 1, []);
          case "%d": case "%i": return StringCtor(m === "%i" ? parseInt(v) : Number(v));
          case "%f": return StringCtor(parseFloat(v));
          case "%j": try { return JSON.stringify(v); } catch { return "[Circular]"; }
          default: return inspect(v, 1, []);
        }
      });
    } else {
      out = args.length ? inspect(first, 0, []) : "";
    }
    for (; rest < args.length; rest++) out += " " + inspect(args[rest], 0, []);
    return out;
  }
  let groupIndent = "";
  const counts = new Map();
  const timers = new Map();
  const emit = (stream) => (...args) => { write(stream, groupIndent + format(args).split("\n").join("\n" + groupIndent) + "\n"); };
  const console = {
    log: emit("stdout"), info: emit("stdout"), debug: emit("stdout"), trace: emit("stderr"),
    warn: emit("stderr"), error: emit("stderr"),
    dir: (v) => write("stdout", inspect(v, 1, []) + "\n"),
    table: emit("stdout"),
    assert: (cond, ...args) => { if (!cond) emit("stderr")("Assertion failed" + (args.length ? ": " + format(args) : "")); },
    group: (...args) => { if (args.length) emit("stdout")(...args); groupIndent += "  "; },
    groupEnd: () => { groupIndent = groupIndent.slice(2); },
    count: (label = "default") => { const n = (counts.get(label) || 0) + 1; counts.set(label, n); emit("stdout")(`${label}: ${n}`); },
    countReset: (label = "default") => { counts.delete(label); },
    time: (label = "default") => { timers.set(label, Date.now()); },
    timeEnd: (label = "default") => { const t = timers.get(label); if (t !== undefined) { timers.delete(label); emit("stdout")(`${label}: ${Date.now() - t}ms`); } },
    timeLog: (label = "default", ...rest) => { const t = timers.get(label); if (t !== undefined) emit("stdout")(`${label}: ${Date.now() - t}ms`, ...rest); },
  };
  console.groupCollapsed = console.group;

  // --- timers ------------------------------------------------------------------
  // A timer is an async host call (natives.sleep) the call driver waits for;
  // the callback then runs as a promise job, inside a call and under its limits.
  const liveTimers = new Map();
  let nextTimer = 1;
  function arm(id, fn, ms, args, repeat) {
    applyFn(promiseThen, sleep(id, ms), [() => {
      const timer = liveTimers.get(id);
      if (!timer) return;
      if (!repeat) liveTimers.delete(id);
      else arm(id, fn, ms, args, true);
      if (typeof fn === "function") fn(...args);
    }]);
  }
  function startTimer(fn, ms, args, repeat) {
    const id = nextTimer++;
    const delay = Math.max(0, Math.min(Number(ms) || 0, 2147483647));
    liveTimers.set(id, true);
    arm(id, fn, delay, args, repeat);
    return id;
  }
  function stopTimer(id) {
    if (liveTimers.delete(id)) cancel(id);
  }
  const setTimeout = (fn, ms, ...args) => startTimer(fn, ms, args, false);
  const setInterval = (fn, ms, ...args) => startTimer(fn, Math.max(1, Number(ms) || 0), args, true);
  const setImmediate = (fn, ...args) => startTimer(fn, 0, args, false);
  const queueMicrotask = (fn) => { Promise.resolve().then(() => fn()); };

  // --- stdin -----------------------------------------------------------------
  // Only the s_* methods connect stdin; under r_* a read ends at once (EOF).
  const stdin = {
    isTTY: false,
    /** The next chunk as a string, or null at the end. */
    read: () => readStdin(),
    /** All of stdin as one string. */
    async text() {
      let out = "";
      for (let chunk = await readStdin(); chunk !== null; chunk = await readStdin()) out += chunk;
      return out;
    },
    async *[Symbol.asyncIterator]() {
      for (let chunk = await readStdin(); chunk !== null; chunk = await readStdin()) yield chunk;
    },
    setEncoding() { return stdin; },
    on(event, listener) {
      if (event === "data" || event === "end") {
        listeners[event].push(listener);
        if (!flowing) {
          flowing = true;
          (async () => {
            for (let chunk = await readStdin(); chunk !== null; chunk = await readStdin()) for (const l of listeners.data) l(chunk);
            for (const l of listeners.end) l();
          })();
        }
      }
      return stdin;
    },
  };
  const listeners = { data: [], end: [] };
  let flowing = false;

  // --- process -----------------------------------------------------------------
  // Only what okProcessNames grants; env holds only the okEnv names the host copied.
  const allowed = new Set(config.processNames);
  const streamOf = (name) => ({
    write(chunk) { write(name, typeof chunk === "string" ? chunk : StringCtor(chunk)); return true; },
    isTTY: false,
  });
  const available = {
    argv: () => config.argv.slice(),
    env: () => Object.assign(Object.create(null), config.env),
    exit: () => exit,
    cwd: () => () => config.cwd,
    platform: () => config.platform,
    version: () => config.version,
    versions: () => ({ node: config.version.replace(/^v/, "") }),
    nextTick: () => (fn, ...args) => { Promise.resolve().then(() => fn(...args)); },
    stdin: () => stdin,
    stdout: () => streamOf("stdout"),
    stderr: () => streamOf("stderr"),
    hrtime: () => {
      const hrtime = (prev) => {
        const now = performance.now();
        const s = Math.floor(now / 1000), ns = Math.floor((now % 1000) * 1e6);
        if (!prev) return [s, ns];
        let ds = s - prev[0], dns = ns - prev[1];
        if (dns < 0) { ds -= 1; dns += 1e9; }
        return [ds, dns];
      };
      hrtime.bigint = () => BigInt(Math.floor(performance.now() * 1e6));
      return hrtime;
    },
    exitCode: () => undefined,
  };
  const proc = {};
  for (const name of keys(available)) {
    if (allowed.has(name)) proc[name] = available[name]();
  }
  defineProperty(proc, Symbol.toStringTag, { value: "process" });

  const define = (name, value) => defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  define("console", console);
  define("exit", exit);
  define("process", proc);
  if (typeof globalThis.performance === "undefined") {
    const start = Date.now();
    define("performance", freeze({ now: () => Date.now() - start, timeOrigin: start }));
  }
  define("global", globalThis);
  define("setTimeout", setTimeout);
  define("clearTimeout", stopTimer);
  define("setInterval", setInterval);
  define("clearInterval", stopTimer);
  define("setImmediate", setImmediate);
  define("clearImmediate", stopTimer);
  define("queueMicrotask", queueMicrotask);
  for (const name of config.nokBuiltinNames) delete globalThis[name];
})
