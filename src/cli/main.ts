/**
 * The `rexec` command line (minimal: `run` and `eval`; the full CLI builds on this).
 *
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { RExec } from "../host/rexec.js";
import { GuestError, LimitError, RestrictedError, SystemExit } from "../host/errors.js";

/** Run the CLI with `args` (without node and script); resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, target, ...rest] = args;
  if (command === "run" && target) {
    const rx = new RExec({ argv: rest });
    try {
      await rx.s_exec(readFileSync(target, "utf8"), { filename: basename(target) });
      return 0;
    } catch (error) {
      return report(error);
    } finally {
      rx.dispose();
    }
  }
  if (command === "eval" && target) {
    const rx = new RExec();
    try {
      const value = await rx.s_eval(target);
      if (value !== undefined) process.stdout.write(`${typeof value === "string" ? value : JSON.stringify(value)}\n`);
      return 0;
    } catch (error) {
      return report(error);
    } finally {
      rx.dispose();
    }
  }
  process.stderr.write("usage: rexec run <file> [args...] | rexec eval '<expr>'\n");
  return 2;
}

function report(error: unknown): number {
  if (error instanceof SystemExit) return error.code;
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  if (error instanceof GuestError) return 1;
  if (error instanceof LimitError) return 3;
  if (error instanceof RestrictedError) return 4;
  return 70;
}
