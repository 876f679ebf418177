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
 * - the guest's files live in its in-memory file system: host reads/writes,
 *   network and URL imports are not available to Python guests yet, so those
 *   flags (and `--stack`, `--seed`, `--check`, `--isolate`) are a usage error
 *   rather than a grant that silently does nothing.
 *
 * @packageDocumentation
 */
import { basename, dirname } from "node:path";
import { FileSystemHooks } from "../loader/hooks/file-system-hooks.js";
import { GuestError, RestrictedError, SystemExit } from "../host/errors.js";
import { PythonRExec } from "../python/python-rexec.js";
import { realFile, UsageError, type CliArgs, type PermissionName } from "./options.js";
import { EXIT, exitCodeOf, formatError } from "./report.js";

const UNSUPPORTED: PermissionName[] = ["allow-read", "allow-write", "allow-net", "allow-import", "deny-read", "deny-write", "deny-net", "deny-import"];

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
    rx = new PythonRExec({
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
