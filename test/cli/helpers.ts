// Drive the real `rexec` binary (bin/rexec.js → dist/cli) as a subprocess.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const bin = fileURLToPath(new URL("../../bin/rexec.js", import.meta.url));

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node ...args` (a script and its arguments) from the repository root, optionally piping `input` into its stdin. */
export function runNode(args: string[], options: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env, NODE_OPTIONS: "" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

/** Run `node bin/rexec.js ...args`, optionally piping `input` into its stdin. */
export function rexec(args: string[], options: { input?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<Result> {
  return runNode([bin, ...args], options);
}
