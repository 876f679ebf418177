// Attack class: host-side work on guest-controlled text and values. A guest
// chooses `error.stack`, messages, paths, names and whole values; the host
// parses, logs and prints them. Each parser must be linear (no backtracking on
// unbounded input), each log line one inert line, each printed value bounded.
// Timing assertions are hang-guards: the linear code takes ~1 ms where the
// bound is 200 ms, and the old code (kept below as a reference) took seconds.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { FileSystemHooks, GuestError, RExec } from "../../src/index.js";
import { formatGuestStack, parseGuestStack, MAX_FRAMES } from "../../src/boundary/guest-stack.js";
import { escapeLogLine, makeLogger, MAX_LOG_LINE } from "../../src/host/verbose.js";
import { printThrown, printValue } from "../../src/cli/print.js";
import { formatError, lineAt, readText, MAX_SOURCE_BYTES } from "../../src/cli/report.js";
import { parseDuration, parseSize, UsageError } from "../../src/cli/options.js";

const BOUND_MS = 200;

/** Wall time of `fn` in ms. */
function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

// The parser as it was (a backtracking regex). Reference for outputs and for the time bound.
const OLD_FRAME = /^\s*at (?:(.*?) \((.*):(\d+):(\d+)\)|(.*):(\d+):(\d+))\s*$/;
function oldParse(stack: string) {
  const frames: { functionName: string | undefined; fileName: string; line: number; column: number }[] = [];
  for (const line of stack.slice(0, 64 * 1024).split("\n")) {
    if (frames.length >= 64) break;
    const m = OLD_FRAME.exec(line);
    if (!m) continue;
    const functionName = m[1] === undefined || m[1] === "<anonymous>" ? undefined : m[1].slice(0, 200);
    const fileName = (m[2] ?? m[5] ?? "").slice(0, 200);
    if (fileName.startsWith("<rexec:")) continue;
    frames.push({ functionName, fileName, line: Number(m[3] ?? m[6]), column: Number(m[4] ?? m[7]) });
  }
  return frames;
}

/** Hostile stacks: each ~1 MB, each a worst case for some backtracking pattern. */
const HOSTILE_STACKS: Record<string, string> = {
  "'at ' + ' ('×N (the reported 3.3 s case)": "at " + " (".repeat(500_000),
  "nested 'x (' with a dangling position": ("    at " + "x (".repeat(5000) + "a:1:").repeat(70),
  "colon-digit runs": "at " + ":1".repeat(500_000),
  "colon-digit runs then ')'": "at x (" + ":1".repeat(500_000) + ":)",
  "white space runs": "at" + " ".repeat(1_000_000) + "x",
  "many short frames": "    at f (a.js:1:2)\n".repeat(50_000),
  "one line of 1 MB name": "    at " + "n".repeat(1_000_000) + " (a.js:1:2)",
  "carriage returns": ("at x (\r" + ":1".repeat(1000) + ")\n").repeat(400),
};

describe("guest stack parsing is linear", () => {
  test("real QuickJS stacks parse as before", () => {
    const real = [
      "    at inner (plugin.js:2:13)\n    at outer (plugin.js:5:3)\n    at <eval> (plugin.js:7:1)\n",
      "    at <anonymous> (<eval>:1:7)\n    at Array.map (native)\n    at /main.ts:3:17\n    at <rexec:kernel>:10:2",
      "Error: x\n    at get foo (a b.js:1:2)\n    at f (C:\\dir (1)\\x.js:3:4)\n  at  (:0:0)  \r\n\tat x:1:2",
      "    at f (a.js:12345678901234567890:1)\n    at g (a.js:1:2:3)\n    at h (a (b):1:2)",
    ];
    for (const stack of real) assert.deepEqual(parseGuestStack(stack), oldParse(stack), stack);
    assert.equal(
      formatGuestStack(parseGuestStack(real[0]!)),
      "    at inner (plugin.js:2:13)\n    at outer (plugin.js:5:3)\n    at <eval> (plugin.js:7:1)",
    );
  });

  test("agrees with the old regular expression on generated frame-like text", () => {
    const token = fc.constantFrom("at ", " (", "(", ")", ":", "1", "42", " ", "  ", "\t", "\r", "\u2028", "\u00a0", "\n", "x", "<anonymous>", "<rexec:k>", "a.js", "\n    at ");
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (parts) => {
        const stack = parts.join("");
        assert.deepEqual(parseGuestStack(stack), oldParse(stack));
      }),
      { numRuns: 3000 },
    );
  });

  test(`a 1 MB hostile stack parses in < ${BOUND_MS} ms (worst cases)`, () => {
    for (const [name, stack] of Object.entries(HOSTILE_STACKS)) {
      let frames: ReturnType<typeof parseGuestStack> = [];
      const ms = timed(() => (frames = parseGuestStack(stack)));
      assert.ok(ms < BOUND_MS, `${name}: ${ms.toFixed(1)} ms`);
      assert.ok(frames.length <= MAX_FRAMES);
      for (const f of frames) assert.ok(f.fileName.length <= 200 && (f.functionName ?? "").length <= 200);
      assert.ok(formatGuestStack(frames).length < MAX_FRAMES * 500);
    }
  });

  test("generated pathological stacks (repeated hostile fragments) stay within the bound", () => {
    const fragment = fc.array(fc.constantFrom("at ", " (", ":", "9", ")", " ", "x", "\n"), { minLength: 1, maxLength: 6 }).map((p) => p.join(""));
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fragment, fc.integer({ min: 10_000, max: 300_000 }), (prefix, piece, times) => {
        const stack = prefix + piece.repeat(times);
        const ms = timed(() => parseGuestStack(stack));
        assert.ok(ms < BOUND_MS, `${JSON.stringify(piece)}×${times}: ${ms.toFixed(1)} ms`);
      }),
      { numRuns: 60 },
    );
  });

  test("the bound is meaningful: the old regex misses it on the reported input", () => {
    // The reported input itself (64 KB): the old code spent ~3–4 s on it (16 KB took only ~190 ms on a
    // fast machine — too close to the bound to show anything).
    const stack = "at " + " (".repeat(32000);
    const old = timed(() => oldParse(stack));
    const now = timed(() => parseGuestStack(stack));
    assert.ok(old > BOUND_MS, `old parser: ${old.toFixed(1)} ms`);
    assert.ok(now < BOUND_MS, `new parser: ${now.toFixed(1)} ms`);
  });

  test("a guest error with a hostile stack crosses the boundary fast, with no frames from the junk", async () => {
    const rx = new RExec({ limits: { timeoutMs: 2000 } });
    try {
      const t = performance.now();
      const e = await rx.r_eval("const e = new Error('x'); e.stack = 'at ' + ' ('.repeat(32000); throw e").catch((x: unknown) => x);
      const ms = performance.now() - t;
      assert.ok(e instanceof GuestError, String(e));
      assert.deepEqual(e.frames, []);
      assert.ok(ms < 1500, `${ms.toFixed(0)} ms (old parser: ~3.3 s)`);
      // And as a value inside a result.
      const r = (await rx.r_eval("const f = new Error('y'); f.stack = 'at ' + ' ('.repeat(32000); [f]")) as unknown[];
      assert.ok(r[0] instanceof GuestError);
    } finally {
      rx.dispose();
    }
  });
});

describe("verbose log lines are one inert line each", () => {
  const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

  test("escapeLogLine: no control, bidi or lone-surrogate character survives; bounded; idempotent", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 3000 }), (s) => {
        const once = escapeLogLine(s);
        assert.ok(!UNSAFE.test(once), JSON.stringify(once));
        assert.ok(once.length <= MAX_LOG_LINE);
        assert.equal(escapeLogLine(once), once);
      }),
      { numRuns: 500 },
    );
    assert.equal(escapeLogLine("host call: f(1 argument)"), "host call: f(1 argument)");
    assert.equal(escapeLogLine("a\n[rexec] x\x1b[2J\u202e\u2028\x9b"), "a\\n[rexec] x\\x1b[2J\\u202e\\u2028\\x9b");
    assert.ok(timed(() => escapeLogLine("\n".repeat(8_000_000))) < BOUND_MS);
  });

  test("both logger forms escape: a function receives, and stderr gets, one escaped line", () => {
    const got: string[] = [];
    makeLogger((l) => got.push(l))("denied: write to /a\n[rexec] limit: forged\x1b[2J");
    assert.deepEqual(got, ["denied: write to /a\\n[rexec] limit: forged\\x1b[2J"]);
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (written.push(chunk), true)) as typeof process.stderr.write;
    try {
      makeLogger(true)("x\ny\x1b[31m");
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(written, ["rexec: x\\ny\\x1b[31m\n"]);
  });

  test("guest-chosen paths and names reach the host's logger escaped, one line per event", async () => {
    const EVIL = "\n[rexec] limit: forged\x1b[2J\u202e";
    const root = mkdtempSync(join(tmpdir(), "rexec-log-"));
    const lines: string[] = [];
    const rx = new RExec({
      verbose: (l) => lines.push(l),
      hooks: new FileSystemHooks({ root }),
      okBuiltinModules: [...RExec.okBuiltinModules, "fs"],
      // A careless host names a nested function after data it was given.
      globals: { ns: { [`f${EVIL}`]: () => 1 } },
    });
    try {
      const scripts = {
        "write.js": `require("fs").writeFileSync(${JSON.stringify(`/a${EVIL}`)}, "x")`,
        "read.js": `require("fs").readFileSync(${JSON.stringify(`/../../a${EVIL}`)})`,
        "call.js": `ns[${JSON.stringify(`f${EVIL}`)}]()`,
      };
      for (const [file, code] of Object.entries(scripts)) {
        writeFileSync(join(root, file), code);
        await rx.r_execfile(`/${file}`).catch(() => {});
      }
    } finally {
      rx.dispose();
      rmSync(root, { recursive: true, force: true });
    }
    const evil = lines.filter((l) => l.includes("[rexec] limit: forged"));
    assert.equal(evil.length, 3, lines.join("\n"));
    for (const l of evil) {
      assert.ok(!UNSAFE.test(l), JSON.stringify(l));
      assert.ok(l.includes("\\n[rexec] limit: forged\\x1b[2J\\u202e"), l);
    }
  });
});

describe("the CLI printer is bounded and runs no guest code", () => {
  const dag = (levels: number, width: number) => {
    let a: unknown = [1];
    for (let i = 0; i < levels; i++) a = Array.from({ length: width }, () => a);
    return a;
  };
  const objectDag = (levels: number, width: number) => {
    let a: unknown = { v: 1 };
    for (let i = 0; i < levels; i++) {
      const b: Record<string, unknown> = {};
      for (let j = 0; j < width; j++) b[`k${j}`] = a;
      a = b;
    }
    return a;
  };
  const wide = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
  const hostile: Record<string, () => unknown> = {
    "7-level, 100-wide array DAG": () => dag(7, 100),
    "40-level binary DAG": () => dag(40, 2),
    "7-level, 100-wide object DAG": () => objectDag(7, 100),
    "400k keys": () => wide(400_000),
    "a 400k-key object shared 100 times": () => { const w = wide(400_000); return Array.from({ length: 100 }, () => w); },
    "8 MB string": () => ["x".repeat(8_000_000)],
    "1 MB key": () => ({ ["k".repeat(1_000_000)]: 1 }),
    "million-bit BigInt": () => [2n ** 1_000_000n],
    "100k-deep nesting": () => { let x: unknown = 1; for (let i = 0; i < 100_000; i++) x = [x]; return x; },
    "6M-element typed array": () => new Float64Array(6_000_000),
    "1M-entry Map": () => new Map(Array.from({ length: 1_000_000 }, (_, i) => [i, i])),
  };

  for (const [name, make] of Object.entries(hostile)) {
    test(`${name}: bounded in bytes and time`, () => {
      const value = make();
      let text = "";
      const ms = timed(() => (text = printValue(value, { maxBytes: 64 * 1024 })));
      assert.ok(Buffer.byteLength(text) <= 64 * 1024 + 100, `${Buffer.byteLength(text)} bytes`);
      assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
    });
  }

  test("cycles still print as [Circular]; small values print as util.inspect does", () => {
    const c: Record<string, unknown> = { a: 1 };
    c.self = c;
    assert.equal(printValue(c), "<ref *1> { a: 1, self: [Circular *1] }");
    assert.equal(printValue({ a: [1, 2] }), "{ a: [ 1, 2 ] }");
    assert.equal(printValue([1, , 3]), "[ 1, <1 empty item>, 3 ]");
    assert.equal(printValue(new Set([1])), "Set(1) { 1 }");
    assert.equal(printValue("s"), "'s'");
    assert.equal(printValue("s", { rawString: true }), "s");
    assert.match(printValue(wide(1000)), /'\.\.\.': 900 more keys/);
    assert.match(printValue(Array.from({ length: 1000 }, () => 0)), /\.\.\. 900 more items/);
  });

  test("never calls toJSON, toString, valueOf, getters or inspect.custom of the value", () => {
    const calls: string[] = [];
    const trap = (name: string) => () => { calls.push(name); throw new Error(name); };
    const value = {
      toJSON: trap("toJSON"),
      toString: trap("toString"),
      valueOf: trap("valueOf"),
      [Symbol.toPrimitive]: trap("toPrimitive"),
      [Symbol.for("nodejs.util.inspect.custom")]: trap("inspect.custom"),
      get g() { calls.push("getter"); return 1; },
      then: trap("then"),
    };
    const shown = printValue([value, value]) + printThrown(value) + printThrown([value]);
    assert.deepEqual(calls, []);
    assert.match(shown, /toJSON: \[Function/);
  });

  test("a thrown non-Error is printed bounded, strings as one JSON line", () => {
    assert.equal(printThrown("a\nb"), '"a\\nb"');
    assert.ok(Buffer.byteLength(printThrown("x".repeat(10_000_000))) <= 64 * 1024 + 100);
    assert.ok(Buffer.byteLength(printThrown(dag(7, 100))) <= 64 * 1024 + 100);
  });
});

describe("error reports", () => {
  test("lineAt finds a line by one scan; readText refuses files over the cap", () => {
    assert.equal(lineAt("a\r\nb\nc", 2), "b");
    assert.equal(lineAt("a\nb", 3), undefined);
    assert.equal(lineAt("a", 2 ** 53), undefined);
    const huge = "\n".repeat(4_000_000);
    assert.ok(timed(() => lineAt(huge, 3_999_999)) < BOUND_MS);
    const dir = mkdtempSync(join(tmpdir(), "rexec-src-"));
    try {
      writeFileSync(join(dir, "big.js"), Buffer.alloc(MAX_SOURCE_BYTES + 1, 0x20));
      writeFileSync(join(dir, "small.js"), "x\ny\n");
      assert.equal(readText(join(dir, "big.js")), undefined);
      assert.equal(readText(join(dir, "small.js")), "x\ny\n");
      assert.equal(readText(dir), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a report of a guest error with huge message and many forged frames is bounded", () => {
    const frames = Array.from({ length: 64 }, (_, i) => ({ functionName: "f", fileName: `/f${i}.js`, line: 2 ** 40, column: 1 }));
    const error = new GuestError("Error", "m".repeat(5_000_000), formatGuestStack(frames), frames);
    let lookups = 0;
    let text = "";
    const ms = timed(() => (text = formatError(error, () => (lookups++, "x\n".repeat(1000)))));
    assert.ok(Buffer.byteLength(text) <= 256 * 1024, `${text.length}`);
    assert.ok(ms < BOUND_MS, `${ms} ms`);
    assert.ok(lookups <= 64, `${lookups} source lookups`);
  });
});

test("CLI size and duration parsing is linear (a run of spaces took 10 s) and keeps its forms", () => {
  assert.equal(parseSize(" 64 m ", "--memory"), 64 * 1024 * 1024);
  assert.equal(parseSize("1048576", "--memory"), 1048576);
  assert.equal(parseDuration("1.5 min", "--timeout"), 90_000);
  for (const parse of [parseSize, parseDuration]) {
    let error: unknown;
    const ms = timed(() => {
      try {
        parse("1" + " ".repeat(50_000) + "!", "--x");
      } catch (e) {
        error = e;
      }
    });
    assert.ok(error instanceof UsageError);
    assert.ok(ms < BOUND_MS, `${ms.toFixed(0)} ms`);
  }
});
