/**
 * `rexec run script.py [args...]`: a Python guest under the same flags as a
 * JavaScript one. Loaded by a dynamic import from main.ts only for `.py`
 * scripts, so `rexec eval` never loads the Python layer (or pyodide).
 *
 * What the flags mean for Python:
 * - modules next to the script can be imported (FileSystemHooks on its directory);
 * - `--allow-env[=NAMES]` / `--deny-env` fill `os.environ`;
 * - `--allow-module <name>` adds a standard-library module to okBuiltinModules;
 * - `--memory`, `--timeout`, `--max-output` set the limits;
 * - `--allow-read[=paths]` / `--deny-read`: a granted host file is copied into
 *   the guest's in-memory file system when the guest opens it (at its own path;
 *   up to 8 MiB each, within the file-system quota); listing host directories
 *   is not offered;
 * - host writes, network and URL imports are not available to Python guests
 *   yet, so those flags (and `--stack`, `--seed`, `--check`, `--isolate`) are
 *   a usage error rather than a grant that silently does nothing.
 *
 * @packageDocumentation
 */
import { readFileSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { OpenMode } from "../host/open-mode.js";
import { canonicalHostPath, type PathGrants } from "../loader/hooks/path-grants.js";
import { CliGrants } from "./cli-grants.js";
import { FileSystemHooks } from "../loader/hooks/file-system-hooks.js";
import { GuestError, RestrictedError, SystemExit } from "../host/errors.js";
import { PythonRExec } from "../python/python-rexec.js";
import { realFile, UsageError, type CliArgs, type PermissionName } from "./options.js";
import { EXIT, exitCodeOf, formatError } from "./report.js";

const UNSUPPORTED: PermissionName[] = ["allow-write", "allow-net", "allow-import", "deny-write", "deny-net", "deny-import"];
/** The guest's own in-memory directories (PythonRExec's default r_open). */
const MEMORY_DIRS = ["/tmp", "/home/guest"];
const inMemory = (path: string) => MEMORY_DIRS.some((dir) => path === dir || path.startsWith(`${dir}/`));

/**
 * A PythonRExec whose reads outside its in-memory directories are the
 * `--allow-read` grants: an allowed host file is copied into the guest's file
 * system when first opened (read-only for the host: guest writes stay in memory).
 */
function cliPython(grants: PathGrants, maxFileBytes: number): typeof PythonRExec {
  const hostReadable = (path: string): boolean => {
    try {
      grants.check(canonicalHostPath(path), "r");
      return true;
    } catch {
      return false;
    }
  };
  return class CliPython extends PythonRExec {
    override r_open(path: string, mode: OpenMode): void {
      // A granted host path is read from the host (even under /tmp, where host temp files live);
      // otherwise the guest's own in-memory directories; otherwise the grants' refusal.
      if (mode === "r" && hostReadable(path)) return;
      if (inMemory(path)) return super.r_open(path, mode);
      if (mode !== "r") throw new RestrictedError(`write to ${path}`, "write under /tmp (in memory); Python guests cannot write host files yet");
      grants.check(canonicalHostPath(path), "r");
    }
    protected override hostFileFor(path: string): Uint8Array | undefined {
      if (!hostReadable(path)) return undefined;
      const real = canonicalHostPath(path);
      let stat;
      try {
        stat = statSync(real);
      } catch {
        return undefined; // not there: the guest sees FileNotFoundError
      }
      if (!stat.isFile()) return undefined;
      if (stat.size > maxFileBytes) throw new RestrictedError(`read of ${path} (${stat.size} bytes)`, `files larger than ${maxFileBytes} bytes are not copied into a Python guest`);
      return readFileSync(real);
    }
  };
}

/** Environment variable names the flags grant (as for JavaScript guests). */
function envNames(cli: CliArgs): string[] {
  const allow = cli.perms["allow-env"] ?? (cli.allowAll ? true : []);
  const deny = cli.perms["deny-env"];
  if (deny === true) return [];
  const names = allow === true ? Object.keys(process.env) : [...allow];
  return names.filter((n) => !(deny ?? []).includes(n));
}

/** Run a Python script; resolves to the process exit code. */
export async function runPython(cli: CliArgs): Promise<number> {
  let rx: PythonRExec | undefined;
  try {
    for (const name of UNSUPPORTED) {
      if (cli.perms[name] !== undefined) throw new UsageError(`--${name} is not available for Python guests yet (their files live in an in-memory file system; no network)`);
    }
    if (cli.stack !== undefined || cli.seed !== undefined || cli.check || cli.worker) {
      throw new UsageError("--stack, --seed, --check and --isolate do not apply to Python guests (each already runs in its own thread)");
    }
    const script = realFile(cli.target!);
    if (script === undefined) throw new UsageError(`cannot find the script ${cli.target}`);
    const grants = new CliGrants({
      read: cli.perms["allow-read"] ?? (cli.allowAll ? true : []),
      write: [],
      denyRead: cli.perms["deny-read"] ?? [],
      denyWrite: [],
    }, cli.allowAll);
    const Python = cliPython(grants, 8 * 1024 * 1024);
    rx = new Python({
      hooks: new FileSystemHooks({ root: dirname(script) }),
      verbose: cli.verbose,
      argv: [basename(script), ...cli.rest],
      okEnv: envNames(cli),
      okBuiltinModules: [...PythonRExec.okBuiltinModules, ...cli.allowModule],
      limits: {
        ...(cli.memory !== undefined ? { memoryBytes: cli.memory } : {}),
        ...(cli.timeout !== undefined ? { timeoutMs: cli.timeout } : {}),
        ...(cli.maxOutput !== undefined ? { outputBytes: cli.maxOutput } : {}),
      },
      spare: false,
    });
    await rx.s_execfile(basename(script));
    return EXIT.OK;
  } catch (error) {
    if (!(error instanceof SystemExit)) {
      // A Python traceback, as Python prints it; other errors as for JavaScript guests.
      // (A Python module refusal keeps its own message: the CLI's report knows JavaScript's modules only.)
      process.stderr.write(error instanceof GuestError && error.guestStack ? `${error.guestStack}\n`
        : error instanceof RestrictedError && error.flag ? `RestrictedError: ${error.message}\n` : formatError(error, () => undefined));
    }
    return exitCodeOf(error);
  } finally {
    rx?.dispose();
    // A script that stopped reading mid-stream must not keep the process alive.
    if (!process.stdin.isTTY) process.stdin.destroy();
    else process.stdin.pause();
  }
}
