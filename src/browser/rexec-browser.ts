/**
 * The browser build's `RExec`: the core class, refusing up front — with a
 * message that says what to use instead — the options a page cannot have:
 * Node worker mode (`worker`), and an engine other than the one the browser
 * build ships (its wasm is the only one {@link initRExec} loads).
 *
 * @packageDocumentation
 */
import { RExec as CoreRExec, type RExecOptions } from "../host/rexec.js";
import { ENGINE_VARIANT } from "../engine/wasm-variant.js";

export class RExec extends CoreRExec {
  constructor(options: RExecOptions = {}) {
    if (typeof options === "object" && options !== null) {
      if (options.worker !== undefined && options.worker !== false) {
        throw new TypeError("rexec (browser): Node worker mode ({ worker: true }) is not available in a browser; use WebWorkerRExec, which runs the sandbox in a Web Worker with a hard-kill deadline");
      }
      if (options.engine !== undefined && options.engine !== ENGINE_VARIANT) {
        throw new TypeError(`rexec (browser): the browser build ships the ${ENGINE_VARIANT} engine only (options.engine ${JSON.stringify(String(options.engine)).slice(0, 40)})`);
      }
    }
    super(options);
  }
}
