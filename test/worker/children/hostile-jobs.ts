/**
 * Child process: hostile jobs against ONE worker-mode instance or ONE pool,
 * each followed by an unrelated benign job that must succeed — a job's values
 * must never kill the worker or the pool thread, nor leave it unusable.
 *
 * argv[2]: a JSON file with a list of guest expressions; argv[3]: "worker" or
 * "pool". The host here is careless: it stringifies what it gets, drops the
 * promises of guest callbacks, keeps guest values and calls their functions
 * later without a handler. No `unhandledRejection` handler is installed, on
 * purpose: one rejection rexec lets escape ends this process with exit code 1.
 * Prints `CASE i` before each case, `BROKEN i …` when the benign job after it
 * failed, and `DONE n` at the end.
 */
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { RExec } from "../../../src/index.ts";
import { RExecPool } from "../../../src/pool/index.ts";

const values = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as string[];
const mode = process.argv[3] as "worker" | "pool";
// wallTimeMs bounds a call whose host function awaits a guest callback that never settles.
const limits = { timeoutMs: 150, wallTimeMs: 1500, memoryBytes: 32 << 20, resultBytes: 1 << 20 };

const kept: unknown[] = [];

/** What a careless host does with a value: every implicit conversion, then calls what it finds and forgets the promise. */
function consume(x: unknown): void {
  const steps: Array<() => unknown> = [
    () => JSON.stringify(x),
    () => String(x),
    () => `${x as string}`,
    () => (x as number) < 1,
    () => [x].join(),
    () => inspect(x, { depth: 6 }),
    () => (typeof x === "object" && x !== null ? Object.values(x).map((v) => `${String(v)}`) : x),
  ];
  for (const step of steps) {
    try {
      step();
    } catch {
      // The host's own synchronous throw: its business. A crash or hang is not.
    }
  }
}

/** Call every function found (one level deep) and drop the promise. */
function callAndForget(x: unknown): void {
  const fns: unknown[] = typeof x === "function" ? [x] : typeof x === "object" && x !== null ? Object.values(x) : [];
  for (const f of fns) {
    if (typeof f !== "function") continue;
    try {
      void (f as (...a: unknown[]) => unknown)(1, {});
    } catch {
      // as above
    }
  }
}

const globals = {
  sink: (x: unknown) => {
    consume(x);
    callAndForget(x);
    return 1;
  },
  keep: (x: unknown) => {
    kept.push(x);
    return kept.length;
  },
  each: (cb: (x: unknown) => unknown) => {
    // The documented callback pattern, written without care: promises dropped.
    for (const i of [1, 2, 3]) void cb(i);
    return 3;
  },
  later: async (cb: (x: unknown) => unknown) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return cb(5);
  },
};

/** The ways a value reaches this host. */
function jobs(value: string): string[] {
  return [
    `(${value})`,
    `throw (${value})`,
    `Promise.reject(${value})`,
    `sink(${value})`,
    `keep(${value})`,
    `each(function (i) { const v = (${value}); if (typeof v === "function") return v(i); throw v })`,
    `later(function () { return (${value}) })`,
  ];
}

async function main(): Promise<void> {
  let broken = 0;
  if (mode === "worker") {
    const rx = new RExec({ worker: true, limits, globals }) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>> & { alive: boolean; dispose(): void };
    for (let i = 0; i < values.length; i++) {
      console.log(`CASE ${i}`);
      for (const job of jobs(values[i]!)) {
        try {
          const v = await rx.r_eval!(job);
          consume(v);
          callAndForget(v);
        } catch (error) {
          consume(error);
          consume((error as { thrown?: unknown }).thrown);
        }
        let ok: unknown;
        try {
          ok = await rx.r_eval!("6 * 7");
        } catch (error) {
          ok = error instanceof Error ? error.message : typeof error;
        }
        if (ok !== 42) {
          broken++;
          console.log(`BROKEN ${i} ${JSON.stringify(job).slice(0, 200)} → ${String(ok).slice(0, 300)}`);
          if (!rx.alive) {
            // Nothing after this can say anything more about this instance.
            console.log(`DONE ${values.length} broken ${broken}`);
            rx.dispose();
            return;
          }
        }
      }
    }
    // What the host kept: call every function in it after the calls ended, and drop the promises.
    for (const x of kept) callAndForget(x);
    rx.dispose();
    // A disposed instance's wrappers reject too: also dropped.
    for (const x of kept) callAndForget(x);
  } else {
    const pool = new RExecPool({ size: 1, limits, globals });
    for (let i = 0; i < values.length; i++) {
      console.log(`CASE ${i}`);
      for (const job of jobs(values[i]!)) {
        try {
          const { value } = await pool.run(job);
          consume(value);
          callAndForget(value);
        } catch (error) {
          consume(error);
          consume((error as { thrown?: unknown }).thrown);
        }
        let ok: unknown;
        try {
          ok = (await pool.run("6 * 7")).value;
        } catch (error) {
          ok = error instanceof Error ? `${error.constructor.name}: ${error.message}` : typeof error;
        }
        if (ok !== 42) {
          broken++;
          console.log(`BROKEN ${i} ${JSON.stringify(job).slice(0, 200)} → ${String(ok).slice(0, 300)}`);
        }
      }
    }
    for (const x of kept) callAndForget(x);
    await pool.close({ force: true });
  }
  // Let dropped promises settle (and any unhandled rejection fire) before declaring survival.
  await new Promise((resolve) => setTimeout(resolve, 300));
  console.log(`DONE ${values.length} broken ${broken}`);
}

await main();
