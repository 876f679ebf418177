/**
 * The `verbose` option: where rexec reports the decisions it makes (limit hits,
 * denials, host-function calls). Off by default.
 *
 * @packageDocumentation
 */

/** `false` (off), `true` (stderr), or a function that receives each line. */
export type Verbose = boolean | ((line: string) => void);

/** Turn the option into a logging function. */
export function makeLogger(verbose: Verbose | undefined): (line: string) => void {
  if (verbose === undefined || verbose === false) return () => {};
  if (verbose === true) return (line) => process.stderr.write(`rexec: ${line}\n`);
  if (typeof verbose === "function") {
    return (line) => {
      try {
        verbose(line);
      } catch {
        // A failing logger must not change what the sandbox does.
      }
    };
  }
  throw new TypeError("options.verbose must be a boolean or a function (line: string) => void");
}
