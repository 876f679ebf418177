/**
 * The careless host: takes every value rexec hands out and consumes it the
 * way host code does without thinking — and must survive.
 *
 * Run as a child process (an unhandled rejection or a crash ends the process,
 * which is exactly what the parent test detects). Reads a JSON list of cases
 * from the file named in argv[2], the mode from argv[3] ("thread", "worker"
 * or "pool"). Prints `CASE i` before each case and `SURVIVED n` at the end;
 * installs no `unhandledRejection` handler, on purpose.
 */
import { readFileSync } from "node:fs";
import { Console } from "node:console";
import { Writable } from "node:stream";
import { inspect } from "node:util";
import { MemoryHooks, RExec } from "../../../src/index.ts";
import { RExecPool } from "../../../src/pool/index.ts";

export interface CarelessCase {
  /** A guest expression for a hostile value. */
  readonly value: string;
}

const cases = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as CarelessCase[];
const mode = process.argv[3] as "thread" | "worker" | "pool";

const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
const quietConsole = new Console({ stdout: sink, stderr: sink });
const limits = { timeoutMs: 150, memoryBytes: 32 << 20, resultBytes: 1 << 20 };

/** Everything a careless host does with a value; each step may throw synchronously (that is the host's own business). */
async function consume(x: unknown): Promise<void> {
  const steps: Array<() => unknown> = [
    () => JSON.stringify(x),
    () => String(x),
    () => `${x as string}`,
    () => "value: " + (x as string),
    () => Number(x),
    () => (x as number) < 1,
    () => [x].join(),
    () => [x].toLocaleString(),
    () => inspect(x, { depth: Infinity }),
    () => inspect(x),
    () => quietConsole.log(x),
    () => quietConsole.log("%s %d %j %o", x, x, x, x),
    () => (Array.isArray(x) ? [...x] : { ...(x as object) }),
    () => structuredClone(x),
    () => new Date(x as string),
    () => Object.keys(x as object),
    () => (typeof x === "object" && x !== null ? Object.entries(x).map(([k, v]) => `${k}=${String(v)}`) : x),
  ];
  for (const step of steps) {
    try {
      step();
    } catch {
      // A synchronous throw in host code is caught by the host; what must not happen is a crash or a hang.
    }
  }
  // Promise adoption: `await x`, and the common `.catch((e) => e)` on a failed call.
  try {
    await Promise.race([x, new Promise((resolve) => setTimeout(resolve, 200))]);
  } catch {
    // as above
  }
  // Values inside: a careless host logs fields too.
  if (typeof x === "object" && x !== null) {
    for (const key of Object.keys(x).slice(0, 20)) {
      try {
        const field = (x as Record<string, unknown>)[key];
        void `${String(field)}`;
        void JSON.stringify(field);
      } catch {
        // as above
      }
    }
  }
}

/** A host that catches every rexec error — then consumes the error and what it carries. */
async function consumeOutcome(run: () => Promise<unknown>): Promise<void> {
  try {
    const value = await run();
    await consume(value);
  } catch (error) {
    await consume(error);
    await consume((error as { thrown?: unknown }).thrown);
    await consume((error as { message?: unknown }).message);
  }
}

async function inSandbox(value: string, make: (options: ConstructorParameters<typeof RExec>[0]) => RExec): Promise<void> {
  const seen: unknown[] = [];
  const rx = make({
    limits,
    hooks: new MemoryHooks({ files: { "/mod.js": `export const v = (${value});\nexport default v;` } }),
    globals: {
      // Host functions written without care: they stringify, log and echo their arguments.
      log: (x: unknown) => "value: " + (x as string),
      echo: (x: unknown) => x,
      keep: (x: unknown) => void seen.push(x),
      forEach: (cb: (x: number) => unknown) => [1, 2, 3].forEach((i) => cb(i)),
      later: async (cb: () => unknown) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return cb();
      },
    },
  });
  try {
    await consumeOutcome(() => rx.r_eval(`(${value})`));
    await consumeOutcome(() => rx.r_eval(`throw (${value})`));
    await consumeOutcome(() => rx.r_eval(`Promise.reject(${value})`));
    await consumeOutcome(() => rx.r_eval(`[(${value}), (${value})]`));
    await consumeOutcome(() => rx.r_eval(`log(${value})`));
    await consumeOutcome(() => rx.r_eval(`echo(${value})`));
    await consumeOutcome(() => rx.r_eval(`(async () => await echo(${value}))()`));
    await consumeOutcome(() => rx.r_eval(`keep(${value})`));
    await consumeOutcome(() => rx.r_eval(`forEach((i) => { const v = (${value}); if (typeof v === "function") return v(); throw v })`));
    await consumeOutcome(() => rx.r_eval(`later(() => (${value}))`));
    await consumeOutcome(() => rx.r_import("./mod.js"));
    // Guest functions the host got hold of, called and dropped without a handler.
    const fn = await rx.r_eval(`() => (${value})`).catch(() => undefined);
    if (typeof fn === "function") {
      void fn();
      await consumeOutcome(async () => fn());
    }
    for (const x of seen.splice(0)) await consume(x);
  } finally {
    rx.dispose();
  }
}

async function main(): Promise<void> {
  const pool = mode === "pool" ? new RExecPool({ size: 2, limits }) : undefined;
  try {
    for (let i = 0; i < cases.length; i++) {
      console.log(`CASE ${i}`);
      const { value } = cases[i]!;
      if (pool) {
        await consumeOutcome(async () => (await pool.run(`(${value})`)).value);
        await consumeOutcome(async () => (await pool.run(`throw (${value})`)).value);
        await consumeOutcome(async () => (await pool.run(`Promise.reject(${value})`)).value);
        // The next, unrelated job must still work.
        const check = await pool.run("1 + 1");
        if (check.value !== 2) throw new Error(`pool broken after case ${i}`);
      } else {
        await inSandbox(value, (options) => new RExec(mode === "worker" ? { ...options, worker: { wallTimeoutMs: 3000 } } : options));
      }
    }
  } finally {
    await pool?.close({ force: true });
  }
  // Give stray rejections and timers the chance to end the process.
  await new Promise((resolve) => setTimeout(resolve, 300));
  console.log(`SURVIVED ${cases.length}`);
}

await main();
