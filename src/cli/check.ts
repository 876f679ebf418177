/**
 * `rexec check <file>` / `rexec run --check <file>`: type-check a TypeScript
 * guest with the real TypeScript compiler before it runs, like `deno check`.
 * Loaded only when asked for: the compiler costs ~0.3 s and ~60 MB to load.
 *
 * Invariant: the compiler reads only what the run could: files the caller's
 * `mayRead` allows (the script's directory and the `--allow-read` grants) and
 * TypeScript's own lib files. The script is untrusted, and its diagnostics
 * quote types — `import { KEY } from "/home/me/secrets.ts"` with
 * `const n: typeof KEY = 1` printed the secret's value.
 *
 * @packageDocumentation
 */
import { dirname, relative, resolve } from "node:path";
import { isAtOrBelow } from "../loader/hooks/path-grants.js";
import { EXIT } from "./report.js";

/** Ambient declarations of the guest's Node-style globals, when `@types/node` is not at hand. */
const GUEST_GLOBALS = `
declare var process: { argv: string[]; env: Record<string, string | undefined>; exit(code?: number): never; cwd(): string; exitCode: number | undefined;
  stdin: any; stdout: { write(s: string): boolean }; stderr: { write(s: string): boolean }; nextTick(f: (...a: any[]) => void, ...a: any[]): void; hrtime: any };
declare var require: (id: string) => any;
declare var module: { exports: any };
declare var exports: any;
declare var Buffer: any;
declare var global: typeof globalThis;
`;

/**
 * Type-check `file` (a real path). Resolves to `undefined` when it passes (or
 * is not TypeScript), else prints the errors as `file:line:col - error TSn: …`
 * and resolves to the exit code.
 */
export async function typeCheck(file: string, mayRead: (path: string) => boolean): Promise<number | undefined> {
  if (!/\.[mc]?tsx?$/.test(file)) return undefined;
  let ts: typeof import("typescript");
  try {
    ts = (await import("typescript")).default;
  } catch {
    process.stderr.write("rexec: --check needs the typescript package (npm install typescript)\n");
    return EXIT.USAGE;
  }
  const globalsFile = `${dirname(file)}/__rexec_guest_globals__.d.ts`;
  const options: import("typescript").CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    allowJs: true,
    skipLibCheck: true,
    lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const libDir = dirname(ts.getDefaultLibFilePath(options));
  const ok = (name: string) => isAtOrBelow(libDir, resolve(name)) || mayRead(resolve(name));
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) =>
    name === globalsFile ? ts.createSourceFile(name, GUEST_GLOBALS, lang) : ok(name) ? getSourceFile(name, lang, onError, create) : undefined;
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === globalsFile || (ok(name) && fileExists(name));
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (ok(name) ? readFile(name) : undefined);
  if (host.directoryExists) {
    const directoryExists = host.directoryExists.bind(host);
    host.directoryExists = (name) => ok(name) && directoryExists(name);
  }
  const program = ts.createProgram([file, globalsFile], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length === 0) return undefined;
  const out: string[] = [];
  for (const d of diagnostics) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (d.file && d.start !== undefined) {
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      const name = relative(process.cwd(), d.file.fileName) || d.file.fileName;
      out.push(`${name}:${line + 1}:${character + 1} - error TS${d.code}: ${text}`);
    } else out.push(`error TS${d.code}: ${text}`);
  }
  process.stderr.write(`${out.join("\n")}\nFound ${diagnostics.length} error${diagnostics.length === 1 ? "" : "s"}.\n`);
  return EXIT.GUEST_ERROR;
}
