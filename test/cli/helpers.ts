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

/** One step of a {@link ptySession}: once the output since the last step matches `after`, type `type`. */
export interface PtyStep {
  readonly after: RegExp;
  readonly type: string;
}

/**
 * `rexec <args>` in a real pseudo-terminal (util-linux `script`), typing each
 * step once the output since the last one matches. Rejects, with the output so
 * far, if the session is still open after `timeoutMs`.
 */
export function ptySession(args: string[], steps: PtyStep[], env: Record<string, string>, options: { cwd?: string; timeoutMs?: number } = {}): Promise<{ out: string; code: number | null; steps: number }> {
  return new Promise((resolve, reject) => {
    const cmd = [process.execPath, bin, ...args].map((a) => JSON.stringify(a)).join(" ");
    const child = spawn("script", ["-qfec", cmd, "/dev/null"], { cwd: options.cwd ?? repoRoot, env: { ...process.env, ...env, NODE_OPTIONS: "" }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let step = 0;
    let from = 0;
    const guard = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`pty session hung at step ${step}; output so far:\n${out}`));
    }, options.timeoutMs ?? 30_000);
    const advance = () => {
      // Terminal control sequences (cursor moves, colours) are not what the user reads.
      while (step < steps.length && steps[step]!.after.test(out.slice(from).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, ""))) {
        from = out.length;
        child.stdin.write(steps[step]!.type);
        step++;
      }
    };
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      advance();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(guard);
      resolve({ out, code, steps: step });
    });
  });
}
