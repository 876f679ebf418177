// The guest half of the module loader: CommonJS `require`, the module cache,
// builtin modules, and the guest's `fs`. Evaluated once per realm before guest
// code; evaluates to a function the host calls with one raw native function.
//
// The native (`loader`) is the only way out and answers four questions, each
// decided on the host against the hooks and the policy:
//   loader("resolve", specifier, referrer, kind) → [id, format]   (or throws a denial / not-found)
//   loader("compile", id)       → a function wrapping the module's code, compiled
//                                 by the host with the module id as its file name
//                                 (so stacks name guest files); JSON → its value
//   loader("importSync", id)    → evaluates a stub ES module that imports `id`
//   loader("fs", op, path, arg) → [ok, value] or [false, {code, message, syscall}]
// ESM itself is loaded natively by the engine; this runtime supplies the
// CommonJS side and the ESM view of CommonJS modules (`__rexecModule`).
(function rexecModules(loader) {
  "use strict";
  const { defineProperty, keys, freeze, create } = Object;
  const cache = new Map();
  const IDENT = /^[A-Za-z_$][\w$]*$/;
  const RESERVED = new Set(("break case catch class const continue debugger default delete do else enum export extends false finally " +
    "for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static " +
    "implements interface package private protected public await arguments eval").split(" "));

  function dirname(id) {
    const i = id.lastIndexOf("/");
    return i <= 0 ? "/" : id.slice(0, i);
  }

  let esmStash;
  let esmStashSet = false;

  function load(id, format) {
    const cached = cache.get(id);
    if (cached) return cached.exports;
    if (format === "module") {
      esmStashSet = false;
      loader("importSync", id);
      if (!esmStashSet) {
        throw new Error(`require() of ES module ${id} could not complete synchronously (it uses top-level await or is in an import cycle); use import() instead`);
      }
      const ns = esmStash;
      esmStash = undefined;
      esmStashSet = false;
      cache.set(id, { id, exports: ns, loaded: true });
      return ns;
    }
    const module = { id, filename: id, exports: {}, loaded: false, children: [], paths: [] };
    cache.set(id, module);
    try {
      if (format === "json") {
        module.exports = loader("compile", id);
      } else if (format === "builtin") {
        if (id === "node:fs" || id === "node:fs/promises") {
          const fs = makeFs();
          module.exports = id === "node:fs" ? fs : fs.promises;
        } else {
          const body = loader("compile", id);
          body(module, module.exports, makeRequire(id));
        }
      } else {
        const wrapper = loader("compile", id);
        wrapper.call(module.exports, module.exports, makeRequire(id), module, id, dirname(id));
      }
    } catch (error) {
      cache.delete(id);
      throw error;
    }
    module.loaded = true;
    return module.exports;
  }

  function makeRequire(referrer) {
    const require = function require(specifier) {
      if (typeof specifier !== "string") throw new TypeError("require() expects a string");
      // Strings reach the host as C strings, cut at the first NUL: refuse here, before the cut.
      if (specifier.includes("\0")) {
        const error = new Error(`cannot find module "${specifier.replace(/\0/g, "\\0")}" imported from ${referrer}`);
        defineProperty(error, "name", { value: "ModuleNotFoundError", configurable: true, writable: true });
        error.code = "MODULE_NOT_FOUND";
        throw error;
      }
      const [id, format] = loader("resolve", specifier, referrer, "require");
      return load(id, format);
    };
    require.resolve = (specifier) => {
      specifier = String(specifier);
      if (specifier.includes("\0")) return require(specifier);
      return loader("resolve", specifier, referrer, "require")[0];
    };
    require.cache = create(null);
    return require;
  }

  // Errors of CommonJS modules loaded for an ESM importer, rethrown when the
  // importer's view module evaluates (so the guest sees its own error).
  const failed = new Map();

  /**
   * Load a CommonJS/JSON/builtin module for an ESM importer and return the names
   * its ESM view exports besides `default` (JSON text of an array).
   */
  function prepareEsmView(id, format) {
    try {
      load(id, format);
    } catch (error) {
      failed.set(id, error);
      return "[]";
    }
    return exportNames(id);
  }

  function exportNames(id) {
    const exports = cache.get(id)?.exports;
    if (exports === null || (typeof exports !== "object" && typeof exports !== "function")) return "[]";
    const names = [];
    for (const key of keys(exports)) {
      if (IDENT.test(key) && !RESERVED.has(key)) names.push(key);
    }
    return JSON.stringify(names);
  }

  // --- fs ---------------------------------------------------------------------
  function makeFs() {
    let BufferCtor;
    const toBuffer = (bytes) => {
      if (BufferCtor === undefined) {
        try { BufferCtor = load("node:buffer", "builtin").Buffer; } catch { BufferCtor = null; }
      }
      return BufferCtor ? BufferCtor.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
    };
    const encodingOf = (options) => (typeof options === "string" ? options : options && typeof options === "object" ? options.encoding : undefined);
    const call = (op, path, arg) => {
      if (typeof path !== "string") {
        if (path && typeof path === "object" && typeof path.href === "string" && path.protocol === "file:") path = decodeURIComponent(path.pathname);
        else throw new TypeError(`The "path" argument must be of type string. Received ${path === null ? "null" : typeof path}`);
      }
      // Strings reach the host as C strings, cut at the first NUL: refuse here, before the cut.
      if (path.includes("\0")) {
        const error = new TypeError(`The argument 'path' must be a string without null bytes. Received ${JSON.stringify(path)}`);
        error.code = "ERR_INVALID_ARG_VALUE";
        throw error;
      }
      const [ok, value] = loader("fs", op, path, arg);
      if (ok) return value;
      const error = new Error(value.message);
      error.code = value.code;
      error.syscall = value.syscall;
      error.path = path;
      if (value.name) defineProperty(error, "name", { value: value.name, configurable: true, writable: true });
      throw error;
    };
    // Bytes cross as a fresh ArrayBuffer holding exactly the view's bytes.
    const dataOf = (data) => {
      if (typeof data === "string") {
        if (!data.includes("\0")) return data;
        // Strings reach the host as C strings, cut at the first NUL: send such text as UTF-8 bytes.
        const bin = unescape(encodeURIComponent(data));
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        return bytes.buffer;
      }
      if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
      if (data instanceof ArrayBuffer) return data.slice(0);
      return String(data);
    };
    const makeStat = (s) => ({
      size: s.size, mtimeMs: s.mtimeMs, mtime: new Date(s.mtimeMs), mode: s.kind === "directory" ? 0o40755 : 0o100644,
      isFile: () => s.kind === "file", isDirectory: () => s.kind === "directory", isSymbolicLink: () => false,
    });
    const sync = {
      readFileSync(path, options) {
        const encoding = encodingOf(options);
        const out = call("readFile", path, encoding ?? null);
        return typeof out === "string" ? out : toBuffer(out);
      },
      writeFileSync(path, data) { call("writeFile", path, dataOf(data)); },
      appendFileSync(path, data) { call("appendFile", path, dataOf(data)); },
      existsSync(path) { try { return call("exists", path, null); } catch { return false; } },
      readdirSync(path) { return call("readdir", path, null); },
      statSync(path) { return makeStat(call("stat", path, null)); },
      lstatSync(path) { return makeStat(call("stat", path, null)); },
      mkdirSync(path, options) { call("mkdir", path, !!(options && options.recursive)); },
      unlinkSync(path) { call("unlink", path, null); },
      rmSync(path) { call("unlink", path, null); },
    };
    const fs = { ...sync, constants: freeze({ F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 }) };
    const promises = {};
    for (const name of keys(sync)) {
      if (name === "existsSync") continue;
      const base = name.slice(0, -4);
      const fn = sync[name];
      promises[base] = (...args) => new Promise((resolve) => resolve(fn(...args)));
      fs[base] = (...args) => {
        const cb = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
        if (!cb) throw new TypeError(`The "cb" argument must be of type function`);
        Promise.resolve().then(() => fn(...args)).then((v) => cb(null, v), (e) => cb(e));
      };
    }
    promises.access = (path) => new Promise((resolve, reject) => (sync.existsSync(path) ? resolve() : reject(Object.assign(new Error(`ENOENT: no such file or directory, access '${path}'`), { code: "ENOENT" }))));
    fs.promises = promises;
    return fs;
  }

  // The ESM view of a CommonJS/JSON/builtin module reads its exports from here.
  // Non-writable and non-configurable: guest code can call it (it grants nothing
  // that require() does not) but cannot replace it under other modules.
  const esmView = (id) => {
    if (failed.has(id)) {
      const error = failed.get(id);
      failed.delete(id);
      throw error;
    }
    return cache.get(id)?.exports;
  };
  defineProperty(globalThis, "__rexecModule", { value: esmView, writable: false, configurable: false, enumerable: false });
  defineProperty(globalThis, "__rexecStash", { value: (ns) => { esmStash = ns; esmStashSet = true; }, writable: false, configurable: false, enumerable: false });

  // Eval code's `require` (Node's REPL has one): resolves from the cwd, like
  // code at the hooks' root. Writable and configurable, like any global the guest may replace.
  const defineGlobalRequire = () => {
    if (!("require" in globalThis)) {
      defineProperty(globalThis, "require", { value: makeRequire("<rexec:eval>"), writable: true, configurable: true, enumerable: false });
    }
  };

  return freeze({
    load,
    defineGlobalRequire,
    prepareEsmView,
    makeRequire,
    forget: (id) => { cache.delete(id); },
    isCached: (id) => cache.has(id),
  });
})
