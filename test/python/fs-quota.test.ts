// Python guests, hostile: the in-memory file system's byte quota counts every byte a guest can still reach.
// File data lives in the interpreter worker's memory, outside the wasm cap, so the quota is the only bound on it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PythonRExec } from "../../src/python/python-rexec.js";

const MiB = 2 ** 20;

test("a file unlinked while open keeps its bytes charged until its last descriptor closes", async () => {
  // unlink gave the bytes back at once while an open descriptor still held (and could grow) them: 40 files of 20 MB
  // written, kept open and unlinked grew the host's RSS by ~750 MB in a second under a 32 MiB quota.
  // Seen failing: all 12 MiB were held under a 4 MiB quota.
  const rx = new PythonRExec({ spare: false, fileSystem: { bytes: 4 * MiB } });
  try {
    const held = await rx.r_eval<number>(`import os
chunk = b'a' * 2**20
held = 0
files = []
for i in range(12):
    f = open(f'/tmp/x{i}', 'wb', buffering=0)
    files.append(f)
    try:
        f.write(chunk)
        held += 1
    except OSError:
        pass
    os.unlink(f'/tmp/x{i}')
held`);
    assert.ok(held <= 4, `${held} MiB held under a 4 MiB quota`);
    // A duplicated descriptor keeps the data alive too; closing every descriptor gives the bytes back.
    assert.equal(await rx.r_eval(`import os
for g in files: g.close()
f = open('/tmp/d', 'wb', buffering=0)
f.write(b'b' * 2**21)
fd2 = os.dup(f.fileno())
os.unlink('/tmp/d')
f.close()
try:
    open('/tmp/y', 'wb').write(b'c' * (3 * 2**20))
    r = 'dup kept its bytes: no room yet'
except OSError:
    r = 'full'
os.close(fd2)
open('/tmp/y', 'wb').write(b'c' * (3 * 2**20))
r`), "full");
  } finally {
    rx.dispose();
  }
});

test("a file replaced by a rename gives its bytes and its file back (the write-then-os.replace pattern)", async () => {
  // rename over an existing file dropped that file without giving back its bytes or its count: saving a 1 MiB file
  // ten times by os.replace filled a 4 MiB quota. Seen failing: ENOSPC at the fourth save.
  const rx = new PythonRExec({ spare: false, fileSystem: { bytes: 4 * MiB, files: 20 } });
  try {
    assert.deepEqual(await rx.r_eval(`import os
for i in range(30):
    with open('/tmp/t', 'wb') as f:
        f.write(b'a' * 2**20)
    os.replace('/tmp/t', '/tmp/f')
# Replaced while open: its bytes stay charged until the descriptor closes.
g = open('/tmp/f', 'rb')
open('/tmp/t', 'wb').write(b'b' * 2**20)
os.replace('/tmp/t', '/tmp/f')
try:
    open('/tmp/u', 'wb').write(b'c' * (2 * 2**20 + 2**19))
    r = 'the open file lost its charge'
except OSError:
    r = 'full'
g.close()
open('/tmp/u', 'wb').write(b'c' * (2 * 2**20 + 2**19))
r, g.closed`), ["full", true]);
  } finally {
    rx.dispose();
  }
});
