/**
 * Child process: a host that drops every promise worker mode and the pool
 * hand out, at the moments they reject — a worker dying with calls pending
 * (heap backstop, wall-clock deadline, dispose), calls after death, guest
 * functions of a dead worker, failed pool runs, functions from a finished
 * pool run, a pool closed with runs pending.
 *
 * No `unhandledRejection` handler, on purpose: a rejection rexec lets escape
 * ends this process with exit code 1. Prints one line per awaited outcome and
 * `DONE` at the end.
 */
import { RExec } from "../../../src/index.ts";
import { RExecPool } from "../../../src/pool/index.ts";

type Rx = Record<string, (...a: unknown[]) => Promise<unknown>> & { alive: boolean; dispose(): void };

const describe = (e: unknown) => (e instanceof Error ? `${e.constructor.name} ${String((e as { limit?: unknown }).limit)} ${e.message}` : `non-error ${typeof e}`);
const settle = (p: Promise<unknown>) => p.then((v) => `resolved ${String(v)}`, describe);

// 1. The worker's own heap backstop: a host function's result too big for it. One call awaited, two dropped.
{
  const big = Array.from({ length: 5e5 }, (_, i) => ({ i, s: `x${i}` }));
  const rx = new RExec({ worker: { resourceLimits: { maxOldGenerationSizeMb: 24 } }, globals: { big: () => big } }) as unknown as Rx;
  const f = (await rx.r_eval!("() => 1")) as () => Promise<unknown>;
  const dying = rx.r_eval!("big(); 1");
  void rx.r_eval!("2");
  void f();
  console.log(`OOM ${await settle(dying)}`);
  void rx.r_eval!("after death");
  void rx.r_exec!("after death");
  void f();
}

// 2. The wall-clock deadline (set below the CPU budget, so the watchdog is what stops the spin), with calls queued behind it and dropped.
{
  const rx = new RExec({ worker: { wallTimeoutMs: 300 }, limits: { timeoutMs: 60_000 } }) as unknown as Rx;
  const f = (await rx.r_eval!("() => { throw new Error('guest') }")) as () => Promise<unknown>;
  void f();
  const spin = rx.r_eval!("for (;;) {}");
  void rx.r_eval!("1");
  void f();
  console.log(`WALL ${await settle(spin)}`);
  void f();
}

// 3. dispose() with calls pending, all dropped; dispose twice; asyncDispose.
{
  const rx = new RExec({ worker: true, globals: { slow: () => new Promise(() => {}) } }) as unknown as Rx & { [Symbol.asyncDispose](): Promise<void> };
  void rx.r_eval!("slow()");
  void rx.s_exec!("slow()");
  void rx.r_import!("./missing.js");
  rx.dispose();
  rx.dispose();
  void rx.r_eval!("1");
  void rx[Symbol.asyncDispose]();
  console.log("DISPOSED ok");
}

// 4. The pool: runs that reject, dropped; functions from a finished run, called and dropped; close with runs pending.
{
  const pool = new RExecPool({ size: 1, limits: { timeoutMs: 100 }, globals: { keep: (f: () => unknown) => void setTimeout(() => void f(), 1) } });
  void pool.run("throw new Error('x')");
  void pool.run("for (;;) {}");
  void pool.run("keep(() => 1); 1");
  const { value } = await pool.run("({ f() { return 1 } })");
  void (value as { f: () => unknown }).f();
  void pool.run(42 as unknown as string);
  console.log(`POOL ${(await pool.run("6 * 7")).value}`);
  void pool.run("1");
  void pool.close({ force: true });
  void pool.run("after close");
}

// 5. A pool thread's heap backstop: the run fails naming the real limit, dropped runs queued behind it too; the pool keeps serving.
{
  const big = Array.from({ length: 5e5 }, (_, i) => ({ i, s: `x${i}` }));
  const pool = new RExecPool({ size: 1, resourceLimits: { maxOldGenerationSizeMb: 24 }, globals: { big: () => big } });
  const dying = pool.run("big(); 1");
  void pool.run("throw 2");
  console.log(`POOLOOM ${await settle(dying)}`);
  console.log(`POOLNEXT ${(await pool.run("6 * 7")).value}`);
  void pool.close({ force: true });
}

await new Promise((resolve) => setTimeout(resolve, 300));
console.log("DONE");
