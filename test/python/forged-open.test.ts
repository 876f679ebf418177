// Python guests, hostile: an "open" question forged on /dev/rexec_host reaches r_open and hostFileFor only with
// the canonical paths the worker itself would ask about.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { OpenMode } from "../../src/host/open-mode.js";
import { RestrictedError } from "../../src/host/errors.js";
import { PythonRExec } from "../../src/python/python-rexec.js";

test("a forged open request with a non-canonical path is refused before r_open sees it", async () => {
  // The worker asks r_open about canonical paths only (normalised, symlinks resolved), and the docs promise it;
  // a guest writing its own request to /dev/rexec_host sent '/data/../secret', which a prefix check in r_open let
  // through to hostFileFor. Seen failing: the host handed out the bytes of '/data/../secret'.
  const asked: string[] = [];
  class DataReader extends PythonRExec {
    override r_open(path: string, mode: OpenMode): void {
      asked.push(path);
      if (mode === "r" && path.startsWith("/data/")) return;
      super.r_open(path, mode);
    }
    protected override hostFileFor(path: string): Uint8Array | undefined {
      return new TextEncoder().encode(`host bytes of ${path}`);
    }
  }
  const rx = new DataReader({ spare: false });
  try {
    const replies = await rx.r_eval<string[]>(String.raw`import os, json
def ask(path, mode='r'):
    fd = os.open('/dev/rexec_host', os.O_RDWR)
    try:
        os.write(fd, json.dumps({'op': 'open', 'path': path, 'mode': mode}).encode())
        return os.read(fd, 1 << 20).decode()
    finally:
        os.close(fd)
[ask(p) for p in ['/data/../secret', '/data/./x/../../etc/passwd', '/data//x', 'data/x', '/data/x/', '/data/x\x00y', '/data/' + 'a' * 5000, '/data/x']]`);
    const leaked = replies.slice(0, -1).filter((reply) => reply.includes("content"));
    assert.deepEqual(leaked, []);
    assert.ok(replies.at(-1)!.includes("content"), "a canonical granted path is still served");
    assert.deepEqual(asked, ["/data/x"]);
    // The ordinary way still works, with the path canonical.
    assert.equal(await rx.r_eval("open('/data/../data/y').read()"), "host bytes of /data/y");
    await assert.rejects(rx.r_eval("open('/data/../secret').read()"), RestrictedError);
  } finally {
    rx.dispose();
  }
});
