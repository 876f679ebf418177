// Use 1 — formulas: a spreadsheet whose cells hold user-written formulas.
//
// Shows: each formula runs as a JavaScript expression in its own sandbox (new
// sandboxes are cheap: they start from a realm image), the sheet's values are
// copied in as globals, a few helper functions are defined once per sandbox,
// and every failure comes back as a typed error — a formula that throws
// (GuestError), one that never ends (TimeoutError: CPU limit) and one that
// allocates too much (MemoryLimitError: memory limit). The host is
// unharmed by all three and goes on with the next cell.
//
//   node scripts/build.mjs && node examples/formulas.mjs
import { RExec, GuestError, TimeoutError, MemoryLimitError, RExecError } from "../dist/index.js";

const values = { A1: 4, B1: 2.5, C1: -1 };
const sheet = {
  D1: "=A1 * (B1 + 2)",
  D2: "=ROUND(AVG(A1, B1, C1), 2)",
  D3: "=IF(C1 < 0, 'negative', 'ok')",
  D4: "=NOPE(A1)", // a function that does not exist
  D5: "=(() => { while (true) {} })()", // never ends
  D6: "=LEN(REPT('x', 2 ** 26))", // a 64 MiB string in a 16 MiB heap
};

// The spreadsheet's function library, written in the guest's own language.
const LIBRARY = `
  const SUM = (...xs) => xs.reduce((a, b) => a + b, 0);
  const AVG = (...xs) => SUM(...xs) / xs.length;
  const ROUND = (x, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
  const IF = (test, then, otherwise) => (test ? then : otherwise);
  const REPT = (text, times) => String(text).repeat(times);
  const LEN = (text) => String(text).length;
`;

/** Evaluate one formula; never throws. */
async function evaluate(cell, formula) {
  const rx = new RExec({
    limits: { memoryBytes: 16 << 20, timeoutMs: 100 }, // 16 MiB heap, 100 ms of CPU per call
    globals: values, // copies: a formula cannot change the host's `values`
    okBuiltinModules: [], // formulas import nothing
  });
  try {
    await rx.r_exec(LIBRARY);
    const value = await rx.r_eval(formula.replace(/^=/, ""), { filename: `${cell}.formula` });
    return `${value}`;
  } catch (error) {
    if (error instanceof GuestError) return `#ERROR ${error.guestName}: ${error.message}`;
    if (error instanceof TimeoutError) return `#TIMEOUT (${error.limit} = ${error.value} ms)`;
    if (error instanceof MemoryLimitError) return `#MEMORY (${error.limit} = ${error.value} bytes)`;
    if (error instanceof RExecError) return `#${error.name}: ${error.message}`;
    throw error; // not the guest's doing: a bug worth seeing
  } finally {
    rx.dispose();
  }
}

for (const [cell, formula] of Object.entries(sheet)) {
  console.log(`${cell} ${formula.padEnd(36)} → ${await evaluate(cell, formula)}`);
}
