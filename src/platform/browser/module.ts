/**
 * `node:module` for the browser build.
 *
 * - `builtinModules`: the names of Node 20's public built-in modules (the loader
 *   refuses a guest's bare import of one it does not provide, exactly as on Node).
 * - `createRequire(url).resolve(name)`: names an npm package's file as
 *   `rexec-package:<name>`; nothing here can read one (see fs.ts) — the engine's
 *   wasm binary is fetched and compiled by src/browser/engine-loader.ts.
 *
 * @packageDocumentation
 */
export const builtinModules: readonly string[] = ["assert","assert/strict","async_hooks","buffer","child_process","cluster","console","constants","crypto","dgram","diagnostics_channel","dns","dns/promises","domain","events","fs","fs/promises","http","http2","https","inspector","inspector/promises","module","net","os","path","path/posix","path/win32","perf_hooks","process","punycode","querystring","readline","readline/promises","repl","stream","stream/consumers","stream/promises","stream/web","string_decoder","sys","timers","timers/promises","tls","trace_events","tty","url","util","util/types","v8","vm","wasi","worker_threads","zlib"];

export function createRequire(_url: string | URL): ((specifier: string) => never) & { resolve(specifier: string): string } {
  const require = (specifier: string): never => {
    throw new Error(`rexec (browser): require(${JSON.stringify(String(specifier).slice(0, 100))}) is not available in the browser build`);
  };
  return Object.assign(require, {
    resolve(specifier: string): string {
      return `rexec-package:${specifier}`;
    },
  });
}

export default { builtinModules, createRequire };
