/**
 * The sandbox a `rexec` command line describes: Deno-style permissions
 * (host paths as themselves, `--allow-*`/`--deny-*`, `-A`), limits, stdio.
 *
 * Invariant: the guest gets exactly what the flags grant — reads, writes,
 * environment variables, builtin modules and remote origins — with every
 * `--deny-*` winning over an allow (also over `-A`), and a refusal naming
 * the exact flag (and path or name) that would allow it.
 *
 * @packageDocumentation
 */
import { realpathSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Readable } from "node:stream";
import { RExec, type RExecOptions } from "../host/rexec.js";
import { RestrictedError } from "../host/errors.js";
import type { Limits } from "../host/limits.js";
import type { OpenMode } from "../host/open-mode.js";
import type { RHooks } from "../loader/types.js";
import { HostPathHooks } from "../loader/hooks/host-path-hooks.js";
import { isAtOrBelow, PathGrants, type PathGrant } from "../loader/hooks/path-grants.js";
import { CliGrants } from "./cli-grants.js";
import { readText, type SourceLookup } from "./report.js";
import { escapeLogLine } from "../host/verbose.js";
import { UsageError, type CliArgs, type Grant } from "./options.js";
import { RemoteModules } from "./remote.js";
import { guestStderr, guestStdout } from "./pipes.js";

/** A configured sandbox plus what the CLI needs to report its errors. */
export interface Sandbox {
  rx: RExec;
  sources: SourceLookup;
  /** Map of virtual `<eval>`-style file names to their code, for carets. */
  inline: Map<string, string>;
}

/** What a command adds to the flags. */
export interface SandboxExtra {
  /** The host script (run with a file): its directory's modules can be imported. */
  script?: string;
  /** The script URL (run with a URL). */
  url?: string;
  /** Grant guest stdin. */
  stdin?: boolean;
}

/** The flag that sets each library limit. */
const LIMIT_FLAG: Record<string, string> = { memoryBytes: "--memory", timeoutMs: "--timeout", stackBytes: "--stack", outputBytes: "--max-output" };

/** `-A` turns a permission not given into "all"; a given one stays as given. */
function allowed(cli: CliArgs, grant: Grant): PathGrant {
  if (grant !== undefined) return grant;
  return cli.allowAll ? true : [];
}

/** The environment variable names the guest sees. */
export function envNames(cli: CliArgs): string[] {
  const allow = allowed(cli, cli.perms["allow-env"]);
  const deny = cli.perms["deny-env"];
  if (deny === true) return [];
  const names = allow === true ? Object.keys(process.env) : [...allow];
  return names.filter((n) => !(deny ?? []).includes(n));
}

/**
 * An RExec whose file gate is the grants: its refusals name the exact
 * `--allow-read=<path>`/`--allow-write=<path>` (or the `--deny-*` that won).
 * A closure over the grants (not a static) so each sandbox has its own.
 */
function gatedRExec(grants: PathGrants, log: (line: string) => void): typeof RExec {
  return class CliRExec extends RExec {
    override r_open(path: string, mode: OpenMode): void {
      if (mode !== "r" && mode !== "w" && mode !== "a") throw new RestrictedError(`opening ${path} with mode "${String(mode)}"`, 'use mode "r", "w" or "a"');
      try {
        grants.check(path, mode === "r" ? "r" : "w");
      } catch (error) {
        // Same log line as RExec's own gate. Not this.log: in worker mode `this` is a stand-in.
        log(`denied: ${mode === "r" ? "read of" : "write to"} ${path}`);
        throw error;
      }
    }
  };
}

/** Build the RExec (hooks, policy, limits) the flags describe. */
export function sandbox(cli: CliArgs, extra: SandboxExtra): Sandbox {
  const importAllow = allowed(cli, cli.perms["allow-import"]);
  const importDeny = cli.perms["deny-import"] ?? [];
  let hooks: RHooks;
  let grants: PathGrants | undefined;
  if (extra.url !== undefined) {
    if (cli.perms["allow-read"] !== undefined || cli.perms["allow-write"] !== undefined) {
      throw new UsageError("--allow-read and --allow-write do not apply to a script given as a URL (it has no file system)");
    }
    hooks = new RemoteModules(extra.url, importAllow, importDeny);
  } else {
    grants = new CliGrants({
      read: allowed(cli, cli.perms["allow-read"]),
      write: allowed(cli, cli.perms["allow-write"]),
      denyRead: cli.perms["deny-read"] ?? [],
      denyWrite: cli.perms["deny-write"] ?? [],
    }, cli.allowAll);
    const remote = importAllow === true || importAllow.length > 0 ? new RemoteModules("http://localhost/", importAllow, importDeny) : undefined;
    hooks = new HostPathHooks({
      grants,
      moduleDirs: extra.script === undefined ? [] : [dirname(extra.script)],
      ...(remote ? { remote } : {}),
      importFlag: (origin) => `--allow-import=${safeHost(origin)}`,
    });
  }
  const limits: { -readonly [K in keyof Limits]?: number } = {};
  if (cli.memory !== undefined) limits.memoryBytes = cli.memory;
  if (cli.timeout !== undefined) limits.timeoutMs = cli.timeout;
  if (cli.stack !== undefined) limits.stackBytes = cli.stack;
  if (cli.maxOutput !== undefined) limits.outputBytes = cli.maxOutput;
  const options: RExecOptions & { worker?: boolean } = {
    hooks,
    limits,
    okBuiltinModules: [...new Set([...RExec.okBuiltinModules, ...cli.allowModule])],
    okEnv: envNames(cli),
    argv: cli.rest,
    verbose: cli.verbose ? (line: string) => process.stderr.write(`rexec: ${line}\n`) : false,
  };
  options.okFetchOrigins = fetchOrigins(cli);
  // The guest's process.stdin is the process's for `run` and `eval`; the REPL keeps stdin for itself.
  // Output goes to the process's streams through pipes.ts: a reader that stops (`| head`) ends the run quietly.
  options.stdio = { stdout: guestStdout, stderr: guestStderr };
  if (!extra.stdin) options.stdio.stdin = Readable.from([]);
  if (cli.worker) options.worker = true;
  if (cli.seed !== undefined) options.deterministic = { seed: cli.seed };
  if (cli.verbose) {
    process.stderr.write(`rexec: cwd ${hooks.cwd}\n`);
    for (const key of Object.keys(cli.perms) as (keyof CliArgs["perms"])[]) {
      const v = cli.perms[key];
      if (v !== undefined) process.stderr.write(`rexec: --${key}${v === true ? "" : `=${v.join(",")}`}\n`);
    }
  }
  const Klass = grants === undefined ? RExec : gatedRExec(grants, cli.verbose ? (line) => process.stderr.write(`rexec: ${escapeLogLine(line)}\n`) : () => {});
  let rx: RExec;
  try {
    rx = new Klass(options);
  } catch (error) {
    // A limit the library does not accept (--stack=1, --memory=99999g) is the command line's fault.
    const limit = error instanceof RangeError ? /^limits\.(\w+) (.*)$/s.exec(error.message) : null;
    if (limit && LIMIT_FLAG[limit[1]!]) throw new UsageError(`${LIMIT_FLAG[limit[1]!]}: ${limit[2]}`);
    if (cli.worker && error instanceof TypeError && /worker/.test(error.message)) {
      throw new UsageError(`--isolate=worker is not supported by this build of the rexec library (${error.message})`);
    }
    throw error;
  }
  const inline = new Map<string, string>();
  // Code frames show lines of files the guest could read (or import) anyway.
  const sources: SourceLookup = (fileName) => {
    const text = inline.get(fileName);
    if (text !== undefined) return text;
    if (!fileName.startsWith("/") || fileName.includes("\0") || grants === undefined || resolve(fileName) !== fileName) return undefined;
    let real: string;
    try {
      real = realpathSync(fileName);
    } catch {
      return undefined;
    }
    const canReadIt = (p: string) => grants.allows(p, "r") || (extra.script !== undefined && isAtOrBelow(dirname(extra.script), p));
    return canReadIt(fileName) && canReadIt(real) ? readText(real) : undefined;
  };
  return { rx, sources, inline };
}

/**
 * `--allow-net[=<host>…]` as the library's fetch origins: bare (or `-A`) is
 * `"*"` (any public origin); a host (`example.com`, `127.0.0.1:8080`) allows it
 * over http and https; a full origin allows just that. A `--deny-net` entry
 * removes the matching grants; the library has no "all but" list, so a deny
 * next to a bare allow is refused as a usage error rather than ignored.
 */
export function fetchOrigins(cli: CliArgs): string[] {
  const allow = allowed(cli, cli.perms["allow-net"]);
  const deny = cli.perms["deny-net"];
  if (deny === true) return [];
  if (allow === true) {
    if (deny !== undefined && deny.length > 0) throw new UsageError(`--deny-net=${deny.join(",")} cannot narrow a bare --allow-net (or -A) yet: list the hosts to allow with --allow-net=<host>,…`);
    return ["*"];
  }
  // As Deno: a host without a port is that host on any port; a full origin is just that origin.
  const origins = allow.flatMap((entry) => (/^https?:\/\//i.test(entry) ? [entry] : hasPort(entry) ? [`https://${entry}`, `http://${entry}`] : [`https://${entry}:*`, `http://${entry}:*`]));
  const denied = (origin: string) => (deny ?? []).some((d) => {
    try {
      const u = new URL(origin.endsWith(":*") ? origin.slice(0, -2) : origin);
      return /^https?:\/\//i.test(d) ? new URL(d).origin === u.origin : d.toLowerCase() === u.host.toLowerCase() || d.toLowerCase() === u.hostname.toLowerCase();
    } catch {
      return false;
    }
  });
  for (const o of origins) {
    try {
      new URL(o.endsWith(":*") ? o.slice(0, -2) : o);
    } catch {
      throw new UsageError(`--allow-net: "${o}" is not a host or origin`);
    }
  }
  return origins.filter((o) => !denied(o));
}

/** Whether a `--allow-net` host entry names a port (`127.0.0.1:8080`, `[::1]:80`; a bare IPv6 address has none). */
function hasPort(entry: string): boolean {
  return /^\[[^\]]*\]:\d+$/.test(entry) || /^[^:[\]]+:\d+$/.test(entry);
}

function safeHost(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return origin;
  }
}
