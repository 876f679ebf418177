// Shared by the Python tests: run sandboxes a few at a time (each is one worker thread).
import { PythonRExec, type PythonRExecOptions } from "../../src/python/python-rexec.js";

/** Run `tasks` with at most `width` at a time. */
export async function limited<T>(tasks: (() => Promise<T>)[], width = 4): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  }));
  return results;
}

/** Run `code` in a fresh sandbox; resolve to the value or the error, and the sandbox's state after. */
export async function runFresh(code: string, options: PythonRExecOptions = {}, method: "r_exec" | "r_eval" = "r_exec"): Promise<{ value?: unknown; error?: unknown; alive: boolean; ms: number; output: { stdout: string; stderr: string } }> {
  const rx = new PythonRExec(options);
  await rx.r_eval("0"); // started: time only the guest code
  const t0 = performance.now();
  try {
    const value = await rx[method](code);
    return { value, alive: rx.alive, ms: performance.now() - t0, output: rx.output };
  } catch (error) {
    return { error, alive: rx.alive, ms: performance.now() - t0, output: rx.output };
  } finally {
    rx.dispose();
  }
}
