// Python guests, hostile: guest values the host decodes cost it time in proportion to their size, never more.
// Decimal → BigInt is quadratic: a 100,000-digit "$bigint" costs the host thread ~36 ms (regex + BigInt()), so
// one 8 MiB host-call request of 83 of them froze the host's event loop for ~3 s, uncharged to the guest.
// The bound is CPython's own for the same reason: 4,300 digits (sys.get_int_max_str_digits()).
import { test } from "node:test";
import assert from "node:assert/strict";
import { CloneError, GuestError } from "../../src/host/errors.js";
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
