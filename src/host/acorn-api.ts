/**
 * acorn and acorn-walk, loaded on first use.
 *
 * Why: only an evaluation that mentions `await`, `import` or `require` is
 * parsed on the host (eval-source.ts), and loading acorn builds its Unicode
 * tables at once: ~10–15 ms of a `rexec eval 1+1` whose start-up target is
 * twice `node -e 1` (issue 13). The rewrite is synchronous, so the packages are
 * required synchronously, once.
 *
 * @packageDocumentation
 */
import { createRequire } from "node:module";

type Acorn = typeof import("acorn");
type AcornWalk = typeof import("acorn-walk");

const requireHere = createRequire(import.meta.url);
let acorn: Acorn | undefined;
let walk: AcornWalk | undefined;

/** The acorn parser (loaded by the first call). */
export function acornApi(): Acorn {
  return (acorn ??= requireHere("acorn") as Acorn);
}

/** acorn-walk (loaded by the first call). */
export function acornWalkApi(): AcornWalk {
  return (walk ??= requireHere("acorn-walk") as AcornWalk);
}
