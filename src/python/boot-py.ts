/**
 * The Python side of a sandbox: the runner that executes requests inside the
 * interpreter. It is baked into the memory snapshot (snapshot.ts), so a new
 * sandbox does not compile it again.
 *
 * Nothing here is a security boundary: guest code runs in the same interpreter
 * and can replace any of it. The host therefore treats everything this runner
 * writes as guest-controlled bytes (bounded, parsed defensively), and the
 * policy filter on imports (`_Gate`) is policy, not protection — the import
 * firewall (firewall.ts) is what makes walking around it harmless.
 *
 * Protocol: the host writes a JSON request to the device /dev/rexec_in, runs
 * `__rexec_main()`; the runner writes one JSON response to /dev/rexec_out.
 * Host functions and module look-ups go through /dev/rexec_host (write a
 * request, read the answer). Values are tagged JSON (see codec.ts).
 *
 * @packageDocumentation
 */
export const BOOT_PY = String.raw`
import sys, os, json as _json, base64 as _b64, builtins as _bi, traceback as _tb, ast as _ast
import importlib.abc as _iabc, importlib.util as _iutil, importlib.machinery as _imach, linecache as _lc

for _n in [n for n in list(sys.modules) if n.split(".")[0] in ("js", "pyodide_js")]:
    del sys.modules[_n]

_MAXDEPTH = 200
_BIGINT_LIMIT = 10**4300

def _enc(v, depth=0):
    if depth > _MAXDEPTH:
        raise ValueError("value nested too deeply to copy out of the sandbox")
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        if -(2**53) < v < 2**53:
            return v
        # The host refuses more digits (codec.ts MAX_BIGINT_DIGITS): say so here, whatever the guest's own str() limit.
        if abs(v) >= _BIGINT_LIMIT:
            raise ValueError("an int of more than 4300 digits cannot be copied out of the sandbox")
        return {"$bigint": str(v)}
    if t is float:
        return v if v == v and v not in (float("inf"), float("-inf")) else {"$float": repr(v)}
    if t is bytes or t is bytearray:
        return {"$bytes": _b64.b64encode(bytes(v)).decode()}
    if t is list or t is tuple:
        return [_enc(x, depth + 1) for x in v]
    if t is set or t is frozenset:
        return {"$set": [_enc(x, depth + 1) for x in v]}
    if t is dict:
        if all(type(k) is str and not k.startswith("$") for k in v):
            return {k: _enc(x, depth + 1) for k, x in v.items()}
        return {"$dict": [[_enc(k, depth + 1), _enc(x, depth + 1)] for k, x in v.items()]}
    raise TypeError(f"cannot copy a value of type {t.__name__} out of the sandbox")

def _dec(v):
    if type(v) is list:
        return [_dec(x) for x in v]
    if type(v) is dict:
        if "$bytes" in v: return _b64.b64decode(v["$bytes"])
        if "$bigint" in v: return int(v["$bigint"])
        if "$float" in v: return float(v["$float"])
        if "$set" in v: return set(_dec(x) for x in v["$set"])
        if "$dict" in v: return {_dec(k): _dec(x) for k, x in v["$dict"]}
        return {k: _dec(x) for k, x in v.items()}
    return v

class HostError(Exception):
    """A host function failed; the message is the host's."""

class RestrictedError(ImportError):
    """The sandbox's policy denied this."""

_HOSTFD = [None]
_PLAIN = frozenset((str, bool, type(None)))
_SAFE = 2**53

def _hostcall(op, *args):
    # Plain arguments (the usual case) need no tags: skip _enc's walk. Anything else
    # (big ints, nan, containers, bytes) takes _enc as before.
    for a in args:
        t = type(a)
        if t in _PLAIN or (t is int and -_SAFE < a < _SAFE) or (t is float and a - a == 0.0):
            continue
        args = _enc(list(args))
        break
    req = _json.dumps({"op": op, "args": args}).encode()
    # One descriptor for the interpreter's life (an open costs more than the call); a write
    # after an answer starts the next request. Reopened if guest code closed it.
    fd = _HOSTFD[0]
    if fd is None:
        fd = _HOSTFD[0] = os.open("/dev/rexec_host", os.O_RDWR)
    try:
        os.write(fd, req)
    except OSError as e:
        if e.errno != 8:  # EBADF
            raise
        fd = _HOSTFD[0] = os.open("/dev/rexec_host", os.O_RDWR)
        os.write(fd, req)
    # The device hands over the whole reply, up to the size asked for: a short read is the end.
    b = os.read(fd, 1 << 20)
    if len(b) == 1 << 20:
        chunks = [b]
        while b:
            b = os.read(fd, 1 << 20)
            chunks.append(b)
        b = b"".join(chunks)
    resp = _json.loads(b)
    if "restricted" in resp:
        raise RestrictedError(resp["restricted"])
    if "error" in resp:
        raise HostError(resp["error"])
    return _dec(resp["value"])

def _host_function(name):
    def f(*args):
        return _hostcall("call", name, *args)
    f.__name__ = f.__qualname__ = name
    return f

class _HostLoader(_iabc.Loader):
    def __init__(self, path, source):
        self.path, self.source = path, source
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        module.__file__ = self.path
        _lc.cache[self.path] = (len(self.source), None, self.source.splitlines(True), self.path)
        exec(compile(self.source, self.path, "exec"), module.__dict__)
    def get_source(self, name):
        return self.source

class _HostFinder(_iabc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        r = _hostcall("find", fullname)
        if r is None:
            return None
        spec = _iutil.spec_from_loader(fullname, _HostLoader(r["path"], r["source"]), origin=r["path"],
                                       is_package=bool(r["package"]))
        spec.has_location = True
        if r["package"]:
            spec.submodule_search_locations = [r["path"].rsplit("/", 1)[0]]
        return spec

_STDLIB = ("/lib/python3.14/", "/lib/python314.zip/")

def _importer_is_stdlib():
    # The first frame outside the import machinery: stdlib code may import its own
    # helpers (datetime -> _datetime); guest code only what okBuiltinModules lists.
    # zipimport imports zlib to read a module stored compressed in the stdlib zip
    # (hashlib, csv, uuid...): that import is the machinery's, whoever imported the module.
    f = sys._getframe(2)
    while f is not None and (f.f_code.co_filename.startswith("<frozen") or f.f_code.co_filename == "<rexec>"):
        if f.f_code.co_filename == "<frozen zipimport>" and f.f_code.co_name == "_get_decompress_func":
            return True
        f = f.f_back
    return f is not None and f.f_code.co_filename.startswith(_STDLIB)

class _Gate(_iabc.MetaPathFinder):
    def __init__(self, ok):
        self.ok = frozenset(ok)
    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top in self.ok or fullname in self.ok or top in _HELPERS:
            return None
        spec = _HostFinder().find_spec(fullname, path, target)
        if spec is not None:
            return spec
        if _importer_is_stdlib():
            return None
        raise RestrictedError(f"import of {fullname!r} is not allowed in this sandbox; add it to okBuiltinModules to allow it")

_G = {"__name__": "__main__", "__builtins__": _bi}

# What the import machinery and C code need to stay importable whatever the policy says;
# everything else loaded before set-up (json, re, ast... used by this runner) leaves
# sys.modules, so the guest's imports of it meet the gate like any other.
_MACHINERY = frozenset("""sys builtins __main__ _frozen_importlib _frozen_importlib_external _imp zipimport marshal
posix _io io abc _abc codecs _codecs encodings _weakref _weakrefset _thread _warnings warnings _signal _stat stat
_collections_abc _sitebuiltins types _types copyreg linecache tokenize token keyword errno time""".split())
# Private helpers C code imports on the guest's behalf (a guest frame is then the importer).
_HELPERS = frozenset("""encodings warnings _strptime _datetime _pydatetime _decimal _pydecimal _json _random _bisect
_heapq _struct _csv _statistics _contextvars _string _locale locale _zoneinfo _sha2 _md5 _sha1 _sha3 _blake2 _hashlib
_operator _functools _collections _opcode unicodedata _weakrefset _abc copyreg""".split())

def _setup(ok_modules, host_fns, argv, env, values):
    keep = _MACHINERY | frozenset(ok_modules)
    for n in list(sys.modules):
        if n not in keep and n.split(".")[0] not in keep:
            del sys.modules[n]
    sys.meta_path.insert(0, _Gate(ok_modules))
    for n in host_fns:
        _G[n] = _host_function(n)
    _G.update(values)
    sys.argv[:] = list(argv)
    sys.path[:] = ["/lib/python314.zip", "/lib/python3.14"]
    os.environ.clear()
    os.environ.update(env)
    return None

_MODULES = {}

def _frames(tb):
    # A plain walk (no source look-ups): a 1000-deep RecursionError must not cost seconds.
    out = []
    while tb is not None:
        co = tb.tb_frame.f_code
        if co.co_filename != "<rexec>":
            out.append([co.co_filename[:300], tb.tb_lineno or 0, co.co_name[:200]])
            if len(out) > 200:
                del out[50:150]
        tb = tb.tb_next
    return out[-100:]

def _exec_code(code, filename, want_value):
    _lc.cache[filename] = (len(code), None, code.splitlines(True), filename)
    # compile(), not ast.parse: a SyntaxError then carries no frame of the runner's parser.
    tree = compile(code, filename, "exec", _ast.PyCF_ONLY_AST)
    last = None
    if want_value and tree.body and isinstance(tree.body[-1], _ast.Expr):
        last = _ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec"), _G)
    return eval(compile(last, filename, "eval"), _G) if last is not None else None

def _public(m):
    names = getattr(m, "__all__", None)
    if names is None:
        names = [k for k in vars(m) if not k.startswith("_")]
    out = {}
    for k in names:
        v = getattr(m, k, None)
        if type(v).__name__ == "module":
            continue
        if callable(v):
            out[k] = {"$callable": k}
            continue
        try:
            out[k] = _enc(v)
        except (TypeError, ValueError):
            out[k] = {"$opaque": type(v).__name__}
    return out

def _run(req):
    op = req["op"]
    if op == "exec":
        _exec_code(req["code"], req["filename"], False)
        return None
    if op == "eval":
        return _enc(_exec_code(req["code"], req["filename"], True))
    if op == "execfile":
        r = _hostcall("file", req["path"])
        _exec_code(r["source"], r["path"], False)
        return None
    if op in ("import", "reload"):
        name = req["name"]
        if op == "reload":
            for n in [n for n in sys.modules if n == name or n.startswith(name + ".")]:
                del sys.modules[n]
        __import__(name)
        m = sys.modules[name]
        _MODULES[name] = m
        return _public(m)
    if op == "unload":
        name = req["name"]
        _MODULES.pop(name, None)
        for n in [n for n in sys.modules if n == name or n.startswith(name + ".")]:
            del sys.modules[n]
        return None
    if op == "call":
        m = _MODULES[req["module"]]
        return _enc(getattr(m, req["name"])(*_dec(req["args"])))
    if op == "setup":
        return _setup(*_dec(req["args"]))
    raise ValueError("unknown request")

def __rexec_main():
    try:
        with open("/dev/rexec_in", "rb") as f:
            req = _json.loads(f.read())
        out = {"ok": True, "value": _run(req)}
    except SystemExit as e:
        c = e.code
        if c is not None and type(c) is not int:
            try:
                print(c, file=sys.stderr)
            except BaseException:
                pass
        out = {"ok": False, "exit": c if type(c) is int else (0 if c is None else 1)}
    except BaseException as e:
        try:
            msg = str(e)[:4000]
        except BaseException:
            msg = "<exception str() failed>"
        frames = _frames(e.__traceback__)
        # Where the syntax is wrong is no frame of the traceback: CPython prints it after them.
        if isinstance(e, SyntaxError) and type(e.filename) is str and type(e.lineno) is int:
            frames.append([e.filename[:300], e.lineno, "<module>"])
        out = {"ok": False, "name": type(e).__name__[:200] if type(type(e).__name__) is str else "BaseException",
               "message": msg, "frames": frames,
               "restricted": isinstance(e, RestrictedError)}
    try:
        data = _json.dumps(out).encode()
    except BaseException:
        # Out of memory (the guest's data still fills the heap) or an unencodable name: say so in bytes made at boot.
        data = _NO_ANSWER
    with open("/dev/rexec_out", "wb") as f:
        f.write(data)

_NO_ANSWER = b'{"ok": false, "name": "MemoryError", "message": "the answer could not be encoded", "frames": [], "restricted": false}'
`;

/** Modules imported before the snapshot is taken, so guests do not pay for compiling them. */
export const SNAPSHOT_IMPORTS = "import json, re, math, datetime, collections, decimal, fractions, statistics, itertools, functools, dataclasses, typing, string, random, textwrap, heapq, bisect, copy, enum";

/** The one line the host runs (through the C API, not Pyodide's FFI) for each request. */
export const RUN_LINE = "__rexec_main()";
