// A guest can write anything to /dev/rexec_host, the device its host calls go through. The host
// parses those bytes itself (interpreter.ts): every malformed request must come back to the guest
// as an error, never throw on the host, pollute it, hang it, or reach a host function.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PythonRExec, TimeoutError } from "../../src/index.js";

test("malformed and hostile requests on /dev/rexec_host are answered with errors; the host is untouched", async () => {
  let calls = 0;
  const rx = new PythonRExec({ spare: false, globals: { touch: () => ++calls } });
  try {
    const answers = await rx.r_eval<string[]>(String.raw`import os, json
def ask(raw):
    f = os.open('/dev/rexec_host', os.O_RDWR)
    try:
        os.write(f, raw)
        out = b''
        while True:
            b = os.read(f, 1 << 16)
            if not b: break
            out += b
        return out.decode()
    finally:
        os.close(f)
deep_json = b'[' * 200000 + b']' * 200000
deep_tags = b'{"op":"call","args":["touch",' + b'{"$list":[' * 5000 + b']}' * 5000 + b']}'
[ask(r) for r in [
    b'not json', b'', b'[1,2]', b'null', b'"op"', b'{"op":5,"args":[]}', b'{"op":"call","args":"touch"}',
    b'{"op":"call","args":[]}', b'{"op":"call","args":[{"$nope":1}]}', b'{"op":"nothing","args":[]}',
    b'{"__proto__":{"polluted":1},"op":"call","args":["__proto__"]}', b'{"op":"call","args":["constructor"]}',
    b'{"op":"call","args":["toString"]}', b'\xff\xfe\x00', deep_json, deep_tags,
]]`);
    assert.equal(answers.length, 16);
    for (const answer of answers) {
      const parsed = JSON.parse(answer) as Record<string, unknown>;
      assert.equal(typeof parsed.error, "string", answer.slice(0, 200));
    }
    assert.equal(calls, 0, "no malformed request reached a host function");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // The channel still works for well-formed calls.
    assert.equal(await rx.r_eval("touch()"), 1);
  } finally {
    rx.dispose();
  }
});

test("a guest calling host functions in a loop is stopped by its limits and never starves the host's event loop", async () => {
  // The host thread watches for the next host call right after answering one (interpreter.ts);
  // it must still give timers and I/O their turn, and the CPU deadline must still end the loop.
  let calls = 0;
  const rx = new PythonRExec({ spare: false, limits: { timeoutMs: 400 }, globals: { add: (a: number, b: number) => (calls++, a + b) } });
  try {
    await rx.r_eval("add(1, 1)");
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const started = performance.now();
    const error = await rx.r_exec("s = 0\nwhile True: s = add(s, 1)").catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    clearInterval(ticker);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.ok(calls >= 2, `${calls} host calls`);
    // A 5 ms interval over the run: a tenth of its ticks at least, even on a loaded machine (none when the loop held the thread).
    assert.ok(ticks >= elapsed / 5 / 10, `${ticks} ticks in ${elapsed.toFixed(0)} ms`);
  } finally {
    rx.dispose();
  }
});
