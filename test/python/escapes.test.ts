// Python guests, hostile: every escape route PYTHON-FACTS §4/§5 found (and the classic walks), each run
// twice — against a sandbox WITHOUT the import firewall (the attack must work there: this is how each
// test is seen failing) and against the real sandbox (the attack must leave the host untouched).
// Oracles are host-side facts: a canary file only host JS or a host shell could create, a secret in a
// host file and the host's env, connections counted by a host TCP server.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PythonRExec, UNSAFE_NO_FIREWALL } from "../../src/python/python-rexec.js";
import { GuestError, RestrictedError, SystemExit, DisposedError } from "../../src/host/errors.js";
import { limited } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "rexec-py-escape-"));
const SECRET = `secret-${process.pid}-${Date.now()}`;
writeFileSync(join(dir, "secret.txt"), SECRET);
process.env.REXEC_PY_ESCAPE_SECRET = SECRET;
after(() => rmSync(dir, { recursive: true, force: true }));

/** A host TCP server of its own for one attempt (attempts run in parallel). */
async function listen(): Promise<{ server: Server; port: number; count: () => number }> {
  let connections = 0;
  const server = createServer((socket) => { connections++; socket.destroy(); });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port, count: () => connections };
}

const BYPASS = "import sys\nsys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != '_Gate']\n";
const WALK = "bi = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'BuiltinImporter'][0]\n";
/** JS that only host code can run: writes the canary file (named per attack) and returns the host env secret. */
const payload = (mark: string) => `process.getBuiltinModule('fs').writeFileSync(${JSON.stringify(join(dir, mark))}, 'pwned'); return process.env.REXEC_PY_ESCAPE_SECRET`;

interface Attack {
  readonly name: string;
  readonly code: (mark: string) => string;
  /** Evidence the attack worked, beyond the canary file (e.g. a TCP connection). */
  readonly connects?: boolean;
  /** Evidence: the host can connect to the port the guest listened on. */
  readonly listens?: boolean;
  /** Importing the pyodide package compiles much of the stdlib: seconds on a loaded machine. */
  readonly slow?: boolean;
}

const ATTACKS: Attack[] = [
  { name: "gate bypass + import pyodide_js → Function", code: (m) => `${BYPASS}import pyodide_js\nR = pyodide_js.constructor.constructor(${JSON.stringify(payload(m))})()` },
  { name: "gate bypass + import _pyodide_core → to_js → Function", code: (m) => `${BYPASS}import _pyodide_core\nR = _pyodide_core.to_js([]).constructor.constructor(${JSON.stringify(payload(m))})()` },
  { name: "js module re-registered + pyodide.code.run_js (host eval)", code: (m) => `${BYPASS}import pyodide_js\npyodide_js.registerJsModule('js', pyodide_js.constructor.constructor('return globalThis')())\nfrom pyodide.code import run_js\nR = run_js(${JSON.stringify(`(() => { ${payload(m)} })()`)})`, slow: true },
  { name: "pyodide_js.mountNodeFS (host files)", code: (m) => `${BYPASS}import pyodide_js\npyodide_js.mountNodeFS('/host', ${JSON.stringify(dir)})\nR = open('/host/secret.txt').read()\nopen('/host/${m}', 'w').write('pwned')` },
  { name: "__subclasses__ → BuiltinImporter → _pyodide_core.to_js → Function", code: (m) => `${WALK}core = bi.create_module(bi.find_spec('_pyodide_core'))\nR = core.to_js([]).constructor.constructor(${JSON.stringify(payload(m))})()` },
  { name: "BuiltinImporter → gc.get_objects() → to_js → Function", code: (m) => `${WALK}gc = bi.create_module(bi.find_spec('gc'))\nfs = [o for o in gc.get_objects() if type(o).__name__ == 'builtin_function_or_method' and getattr(o, '__name__', '') == 'to_js']\nif not fs:\n    import _pyodide_core\n    fs = [_pyodide_core.to_js]\nR = fs[0]([]).constructor.constructor(${JSON.stringify(payload(m))})()` },
  { name: "ctypes → dlsym(emscripten_run_script)", code: (m) => `${BYPASS}import ctypes\nctypes.CDLL(None).emscripten_run_script(${JSON.stringify(`(() => { ${payload(m)} })()`)}.encode())` },
  { name: "os.system (host shell)", code: (m) => `import os\nrc = os.system('touch ${join(dir, m)}')\nif rc != 0: raise OSError('no shell', rc)` },
  { name: "BuiltinImporter → posix.system (host shell)", code: (m) => `${WALK}posix = bi.create_module(bi.find_spec('posix'))\nrc = posix.system('touch ${join(dir, m)}')\nif rc != 0: raise OSError('no shell', rc)` },
  { name: "socket bind + listen on a host port", code: () => `${BYPASS}import _socket\ns = _socket.socket()\ns.bind(('127.0.0.1', FREEPORT))\ns.listen(1)\nR = 'listening'`, listens: true },
  { name: "raw _socket connect to a host port", code: () => `${BYPASS}import _socket\ns = _socket.socket()\ntry:\n    s.connect(('127.0.0.1', PORT))\nexcept BlockingIOError:\n    pass\nimport time\nR = 'connect returned'`, connects: true },
];

interface Outcome { readonly error: unknown; readonly result: unknown; readonly pwned: boolean; readonly connected: boolean }

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => { socket.destroy(); resolve(true); });
    socket.on("error", () => resolve(false));
    socket.setTimeout(1000, () => { socket.destroy(); resolve(false); });
  });
}

async function attempt(attack: Attack, mark: string, unsafe: PythonRExec | undefined): Promise<Outcome> {
  // Without the firewall nothing kills the interpreter, so one unprotected sandbox serves every attack.
  const rx = unsafe ?? new PythonRExec({ limits: { timeoutMs: attack.slow ? 30_000 : 5000 } });
  const host = await listen();
  let error: unknown;
  let result: unknown;
  try {
    const free = await freePort();
    await rx.r_exec(`R = None\n${attack.code(mark).replace("FREEPORT", String(free)).replace("PORT", String(host.port))}`);
    result = await rx.r_eval("R");
    if (attack.listens && (await canConnect(free))) result = `host reached the guest's listener; ${SECRET}`;
    // A socket connects from the interpreter's event loop once the call returns: give it time.
    if (attack.connects) await new Promise((resolve) => setTimeout(resolve, 500));
  } catch (e) {
    error = e;
  } finally {
    if (!unsafe) rx.dispose();
    host.server.close();
  }
  return { error, result, pwned: existsSync(join(dir, mark)) || String(result).includes(SECRET), connected: host.count() > 0 };
}

test("each escape route works without the firewall and is stopped by it", async () => {
  const unprotected = new PythonRExec({ limits: { timeoutMs: 30_000 }, [UNSAFE_NO_FIREWALL]: true } as never);
  const [unsafeRuns, safeRuns] = await Promise.all([
    (async () => {
      const out: Outcome[] = [];
      for (const [i, attack] of ATTACKS.entries()) out.push(await attempt(attack, `unsafe-${i}`, unprotected));
      unprotected.dispose();
      return out;
    })(),
    limited(ATTACKS.map((attack, i) => () => attempt(attack, `safe-${i}`, undefined)), 3),
  ]);
  const failures: string[] = [];
  ATTACKS.forEach((attack, i) => {
    const unsafe = unsafeRuns[i]!;
    const safe = safeRuns[i]!;
    const worked = attack.connects ? unsafe.connected : unsafe.pwned;
    if (!worked) failures.push(`${attack.name}: did not work WITHOUT the firewall (${String(unsafe.error).slice(0, 200)})`);
    if (safe.pwned || safe.connected) failures.push(`${attack.name}: ESCAPED the sandbox`);
    if (!attack.connects && !(safe.error instanceof RestrictedError || safe.error instanceof GuestError)) failures.push(`${attack.name}: expected a RestrictedError or GuestError, got ${String(safe.error)}`);
  });
  assert.deepEqual(failures, []);
});

test("a firewall violation ends the interpreter: later calls say why", async () => {
  const rx = new PythonRExec();
  try {
    const error = await rx.r_exec(`${WALK}core = bi.create_module(bi.find_spec('_pyodide_core'))\ncore.to_js([])`).catch((e: unknown) => e);
    assert.ok(error instanceof RestrictedError, String(error));
    assert.match(error.message, /host import/);
    await assert.rejects(rx.r_eval("1"), (e: unknown) => e instanceof DisposedError && /denied host import/.test(e.message));
  } finally {
    rx.dispose();
  }
});

test("exit-code tampering (os._exit, os.kill, signal.raise_signal, os.abort) never reaches the host", async () => {
  const exitCodeBefore = process.exitCode; // node:test sets 1 when an earlier test failed
  // Without the worker and the firewall, probes/python/t7_exit.mjs saw these set the HOST's exit code (143).
  const cases = ["import os\nos._exit(5)", "import os\nos.kill(os.getpid(), 9)", "import signal\nsignal.raise_signal(15)", "import os\nos.abort()"];
  const outcomes = await limited(cases.map((code) => async () => {
    const rx = new PythonRExec({ okBuiltinModules: [...PythonRExec.okBuiltinModules, "signal"] });
    try {
      return await rx.r_exec(code).then(() => "returned", (e: unknown) => e);
    } finally {
      rx.dispose();
    }
  }), 4);
  // The guest's status arrives as SystemExit (128 + signal for kills); abort is a stopped interpreter.
  assert.deepEqual(outcomes.map((o) => (o instanceof SystemExit ? o.code : o instanceof GuestError ? o.guestName : String(o))), [5, 137, 143, "InterpreterError"]);
  assert.equal(process.exitCode, exitCodeBefore);
  const rx = new PythonRExec();
  try {
    assert.equal(await rx.r_eval("1 + 1"), 2, "new sandboxes still work");
  } finally {
    rx.dispose();
  }
});

test("the guest sees no host env, paths or files", async () => {
  const rx = new PythonRExec();
  try {
    const seen = await rx.r_eval<string>("import os, sys\nrepr((dict(os.environ), sys.argv, sys.executable, sys.path, os.getcwd()))");
    assert.doesNotMatch(seen, new RegExp(`${SECRET}|/work/|node_modules|${process.cwd()}`));
    // A host file outside the guest's own in-memory /tmp and /home/guest: refused by r_open.
    const error = await rx.r_eval(`open("/etc/passwd").read()`).catch((e: unknown) => e);
    assert.ok(error instanceof RestrictedError, String(error));
    // The checkout's own files (wherever it lives, /tmp included) are never the host's: refused, or not there.
    const mine = await rx.r_eval(`open(${JSON.stringify(join(process.cwd(), "package.json"))}).read()`).catch((e: unknown) => e);
    assert.ok(mine instanceof RestrictedError || (mine instanceof Error && /No such file/.test(mine.message)), String(mine));
  } finally {
    rx.dispose();
  }
});
