/**
 * The browser version of src/host/acorn-api.ts (swapped in by
 * scripts/build-browser.mjs). On Node the core requires acorn lazily through
 * `createRequire` to keep it off the CLI's start-up path; a bundle has no
 * `require`, so here acorn is bundled and imported statically.
 *
 * @packageDocumentation
 */
import * as acorn from "acorn";
import * as walk from "acorn-walk";

export function acornApi(): typeof acorn {
  return acorn;
}

export function acornWalkApi(): typeof walk {
  return walk;
}
