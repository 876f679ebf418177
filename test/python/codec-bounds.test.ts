// Python guests, hostile: guest values the host decodes cost it time in proportion to their size, never more.
// Decimal → BigInt is quadratic: a 100,000-digit "$bigint" costs the host thread ~36 ms (regex + BigInt()), so
// one 8 MiB host-call request of 83 of them froze the host's event loop for ~3 s, uncharged to the guest.
// The bound is CPython's own for the same reason: 4,300 digits (sys.get_int_max_str_digits()).
import { test } from "node:test";
import assert from "node:assert/strict";
import { CloneError, GuestError, TimeoutError } from "../../src/host/errors.js";
import { fromGuest, MAX_BIGINT_DIGITS } from "../../src/python/codec.js";
import { PythonRExec } from "../../src/python/python-rexec.js";

test("the codec refuses a $bigint of more than 4,300 digits", () => {
  // Seen failing: 100,000 digits were decoded.
  assert.equal(MAX_BIGINT_DIGITS, 4300);
  assert.equal(fromGuest({ $bigint: `-${"9".repeat(4300)}` }), -(10n ** 4300n - 1n));
  assert.throws(() => fromGuest({ $bigint: "9".repeat(4301) }), CloneError);
  assert.throws(() => fromGuest({ $bigint: "9".repeat(100_000) }), CloneError);
});

test("a huge int never reaches a host function, and a guest that raised its own limit gets a clear error", async () => {
  const seen: unknown[] = [];
  const rx = new PythonRExec({ spare: false, globals: { take: (x: unknown) => void seen.push(x) } });
  try {
    const answer = await rx.r_eval<string>(String.raw`import os
f = os.open('/dev/rexec_host', os.O_RDWR)
os.write(f, b'{"op":"call","args":["take",{"$bigint":"' + b'9' * 100000 + b'"}]}')
answer = os.read(f, 1 << 16).decode()
os.close(f)
answer`);
    assert.match(answer, /"error"/);
    assert.deepEqual(seen, []);
    const error = await rx.r_eval("import sys\nsys.set_int_max_str_digits(0)\n10**5000").catch((e: unknown) => e);
    assert.ok(error instanceof GuestError && error.guestName === "ValueError" && /4300 digits/.test(error.message), String(error));
    assert.equal(await rx.r_eval("take(10**4000)\n10**4000 == int('1' + '0' * 4000)"), true);
    assert.equal(seen.length, 1);
  } finally {
    rx.dispose();
  }
});

test("the host's time parsing a guest's requests counts against the guest's timeoutMs", async () => {
  // The CPU timer paused before the host parsed a request, so a guest writing large, deeply nested requests (which
  // cost it ~nothing: the same bytes each time) held the host's event loop ~2 s per request until wallTimeMs,
  // whatever its timeoutMs. Seen failing: TimeoutError at wallTimeMs (10 s) with timeoutMs 500.
  const rx = new PythonRExec({ spare: false, limits: { timeoutMs: 500, wallTimeMs: 10_000, resultBytes: 2 * 2 ** 20 }, globals: { noop: () => {} } });
  try {
    await rx.r_eval("1");
    const started = performance.now();
    const error = await rx.r_exec(String.raw`import os
req = b'{"op":"call","args":["noop",' + b'[[0],' * (2**20 // 5) + b'0]]}'
f = os.open('/dev/rexec_host', os.O_RDWR)
while True:
    os.write(f, req)
    os.read(f, 1 << 16)`).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    assert.ok(error instanceof TimeoutError && error.limit === "timeoutMs", String(error));
    assert.ok(elapsed < 6000, `stopped after ${Math.round(elapsed)} ms`);
  } finally {
    rx.dispose();
  }
});
