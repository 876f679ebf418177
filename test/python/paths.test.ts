// Python guests, hostile paths: every path the wasm hands to the host's JS (file system syscalls) is bounded.
// Paths are decoded into JS strings in the interpreter's worker, outside the wasm memory cap:
// `os.stat('/a' * 60_000_000)` ran the worker out of heap, and V8's fatal OOM aborted the whole host process.
// Here a path over PATH_MAX must fail with ENAMETOOLONG (37) before it is decoded (it was ENOENT, 44, before).
import { test } from "node:test";
import assert from "node:assert/strict";
import { PythonRExec } from "../../src/python/python-rexec.js";

const PROBE = `import os
long = '/tmp/' + 'a/' * 3000 + 'f'
out = {}
def errno_of(name, f):
    try:
        f()
        out[name] = 0
    except OSError as e:
        out[name] = e.errno
errno_of('stat', lambda: os.stat(long))
errno_of('lstat', lambda: os.lstat(long))
errno_of('open', lambda: os.open(long, os.O_RDONLY))
errno_of('open-create', lambda: os.open(long, os.O_WRONLY | os.O_CREAT))
errno_of('mkdir', lambda: os.mkdir(long))
errno_of('unlink', lambda: os.unlink(long))
errno_of('rename-from', lambda: os.rename(long, '/tmp/x'))
errno_of('rename-to', lambda: (open('/tmp/y', 'w').close(), os.rename('/tmp/y', long)))
errno_of('symlink-target', lambda: os.symlink(long, '/tmp/z'))
errno_of('symlink-path', lambda: os.symlink('/tmp', long))
errno_of('readlink', lambda: os.readlink(long))
errno_of('access', lambda: os.access(long, os.R_OK) or os.stat(long))
errno_of('chdir', lambda: os.chdir(long))
errno_of('chmod', lambda: os.chmod(long, 0o644))
errno_of('utime', lambda: os.utime(long))
errno_of('truncate', lambda: os.truncate(long, 0))
errno_of('rmdir', lambda: os.rmdir(long))
errno_of('statvfs', lambda: os.statvfs(long))
out
`;

test("paths longer than PATH_MAX fail with ENAMETOOLONG in every path syscall; the sandbox stays usable", async () => {
  const rx = new PythonRExec({ spare: false, limits: { timeoutMs: 10_000 } });
  try {
    const seen = await rx.r_eval<Record<string, number>>(PROBE);
    const wrong = Object.entries(seen).filter(([, errno]) => errno !== 37);
    assert.deepEqual(wrong, [], JSON.stringify(seen));
    // Ordinary paths still work.
    assert.equal(await rx.r_eval("import os\nos.makedirs('/tmp/' + 'b/' * 100)\nopen('/tmp/' + 'b/' * 100 + 'f', 'w').write('ok')\nopen('/tmp/' + 'b/' * 100 + 'f').read()"), "ok");
  } finally {
    rx.dispose();
  }
});

test("the terminal devices are refused under any name (renamed into /tmp, where r_open allows them)", async () => {
  // Emscripten's TTY keeps a line in a JS array until a newline: 300 MB without one, written to /dev/tty renamed
  // to /tmp/t, ran the worker out of heap and aborted the host process. Seen failing: both opened.
  const rx = new PythonRExec({ spare: false });
  try {
    const seen = await rx.r_eval<string[]>(`import os
out = []
for dev in ('/dev/tty', '/dev/tty1'):
    # /dev is sealed now (the rename itself is refused); the device number is refused whatever its name.
    try:
        os.rename(dev, '/tmp/t')
        os.close(os.open('/tmp/t', os.O_WRONLY))
        out.append('opened')
    except OSError as e:
        out.append(type(e).__name__)
    if os.path.exists('/tmp/t'):
        os.unlink('/tmp/t')
out`);
    assert.deepEqual(seen, ["PermissionError", "PermissionError"]);
    assert.equal(await rx.r_eval("print('still writes'); 1"), 1);
    assert.equal(rx.output.stdout, "still writes\n");
  } finally {
    rx.dispose();
  }
});

test("requests held on many /dev/rexec_host descriptors share one resultBytes budget", async () => {
  // Each descriptor kept up to resultBytes of request bytes (ArrayBuffers: outside the worker's heap limit and the
  // wasm cap): 200 descriptors x 7 MiB held 1.4 GB of host memory. Seen failing: all 20 MiB were held.
  const rx = new PythonRExec({ spare: false, limits: { resultBytes: 4 * 2 ** 20 } });
  try {
    const held = await rx.r_eval<number>(`import os
b = b'a' * 2**20
held = 0
fds = []
for i in range(20):
    f = os.open('/dev/rexec_host', os.O_RDWR)
    fds.append(f)
    try:
        os.write(f, b)
        held += 1
    except OSError:
        pass
held`);
    assert.ok(held <= 4, `${held} MiB held`);
    // Closing the descriptors frees their share: host functions still work.
    assert.equal(await rx.r_eval("import os\nfor f in fds: os.close(f)\nimport sys\nlen(sys.modules['__main__']._hostcall('find', 'nothing_here') or '')"), 0);
  } finally {
    rx.dispose();
  }
});

test("/dev/random and /dev/urandom stay random (rexec's own devices take device numbers of their own)", async () => {
  // rexec's devices were registered as majors 64-66, emscripten's numbers for /dev/random and /dev/urandom: reading
  // /dev/random gave the runner's request text and /dev/urandom failed. Seen failing.
  const rx = new PythonRExec({ spare: false });
  try {
    const seen = await rx.r_eval<number[]>("[len(set(open(d, 'rb').read(64))) for d in ('/dev/random', '/dev/urandom')]");
    assert.ok(seen.every((distinct) => distinct > 16), JSON.stringify(seen));
    assert.equal(await rx.r_eval("1 + 1"), 2);
  } finally {
    rx.dispose();
  }
});

test("a read-only open that creates or truncates is a write (the read-only standard library stays read-only)", async () => {
  // openMode looked only at O_ACCMODE: O_RDONLY | O_CREAT planted a file in /lib/python3.14 (whose frames the import
  // gate trusts as the standard library) and O_RDONLY | O_TRUNC would empty one. Seen failing: both opened.
  const rx = new PythonRExec({ spare: false });
  try {
    const seen = await rx.r_eval<string[]>(`import os
out = []
for path, flags in (('/lib/python3.14/planted.py', os.O_RDONLY | os.O_CREAT), ('/lib/python3.14/planted2.py', os.O_RDONLY | os.O_CREAT | os.O_TRUNC)):
    try:
        os.close(os.open(path, flags))
        out.append('opened')
    except OSError as e:
        out.append(type(e).__name__)
out`);
    assert.deepEqual(seen, ["PermissionError", "PermissionError"]);
    assert.equal(await rx.r_eval("import os\nos.close(os.open('/tmp/new', os.O_RDONLY | os.O_CREAT))\nimport textwrap\nos.path.exists('/lib/python3.14/planted.py')"), false);
  } finally {
    rx.dispose();
  }
});

test("the read-only standard library and /dev stay read-only to every path syscall (rename, mkdir, symlink, unlink, truncate)", async () => {
  // r_open guards openat only: rename, mkdir and symlink planted modules in /lib/python3.14 (on sys.path, trusted
  // by the import gate as the standard library), rename could replace /lib/python314.zip (the whole stdlib) and
  // truncate empty it. Seen failing: every one of these succeeded.
  const rx = new PythonRExec({ spare: false });
  try {
    const seen = await rx.r_eval<Record<string, string>>(`import os
open('/tmp/planted.py', 'w').write('X = 1')
out = {}
def attempt(name, f):
    try:
        f()
        out[name] = 'done'
    except OSError as e:
        out[name] = type(e).__name__
attempt('rename-in', lambda: os.rename('/tmp/planted.py', '/lib/python3.14/planted.py'))
attempt('rename-over-zip', lambda: os.rename('/tmp/planted.py', '/lib/python314.zip'))
attempt('rename-out', lambda: os.rename('/lib/python3.14/lib-dynload', '/tmp/ld'))
attempt('mkdir', lambda: os.mkdir('/lib/python3.14/newdir'))
attempt('symlink', lambda: os.symlink('/tmp', '/lib/python3.14/link'))
attempt('unlink', lambda: os.unlink('/lib/python314.zip'))
attempt('truncate', lambda: os.truncate('/lib/python314.zip', 0))
attempt('dev-mkdir', lambda: os.mkdir('/dev/x'))
attempt('dev-rename', lambda: os.rename('/tmp/planted.py', '/dev/rexec_in'))
out`);
    const done = Object.entries(seen).filter(([, result]) => result !== "PermissionError");
    assert.deepEqual(done, [], JSON.stringify(seen));
    // The guest's own directories work as before, and the stdlib still imports.
    assert.deepEqual(await rx.r_eval("import os\nos.mkdir('/tmp/d')\nos.symlink('/tmp/d', '/tmp/l')\nos.rename('/tmp/planted.py', '/tmp/d/p.py')\nimport textwrap, csv\nos.listdir('/tmp/l')"), ["p.py"]);
  } finally {
    rx.dispose();
  }
});

test("r_open judges every path a guest creates, moves or removes, not only opens (dangling symlinks, rename, mkdir, unlink)", async () => {
  // The default r_open allows writes only under /tmp and /home/guest. Seen failing: open() through a dangling
  // symlink /tmp/l -> /home/x created /home/x (r_open was asked about /tmp/l), and rename, mkdir and symlink put
  // nodes outside the allowed directories without asking r_open at all.
  const rx = new PythonRExec({ spare: false });
  try {
    const seen = await rx.r_eval<Record<string, string>>(`import os
out = {}
def attempt(name, f):
    try:
        f()
        out[name] = 'done'
    except OSError as e:
        out[name] = type(e).__name__
open('/tmp/a', 'w').write('a')
os.symlink('/home/x_new', '/tmp/l')
attempt('create-through-dangling-symlink', lambda: open('/tmp/l', 'w').write('x'))
attempt('rename-out', lambda: os.rename('/tmp/a', '/home/moved'))
attempt('mkdir-out', lambda: os.mkdir('/home/newdir'))
attempt('symlink-out', lambda: os.symlink('/tmp/a', '/home/link'))
out['exists'] = str([p for p in ('/home/x_new', '/home/moved', '/home/newdir', '/home/link') if os.path.lexists(p)])
out`);
    assert.deepEqual(seen, {
      "create-through-dangling-symlink": "PermissionError", "rename-out": "PermissionError", "mkdir-out": "PermissionError",
      "symlink-out": "PermissionError", exists: "[]",
    });
    // Inside the allowed directories all of it works (links judged as themselves: unlinking /tmp/l is fine).
    assert.deepEqual(await rx.r_eval(`import os
os.symlink('/tmp/a', '/home/guest/ln')
os.mkdir('/home/guest/d')
os.rename('/tmp/a', '/home/guest/d/a')
os.symlink('/home/guest/d/new', '/tmp/l2')
open('/tmp/l2', 'w').write('through a link')
os.unlink('/tmp/l')
os.unlink('/home/guest/ln')
sorted(os.listdir('/home/guest/d'))`), ["a", "new"]);
  } finally {
    rx.dispose();
  }
});
