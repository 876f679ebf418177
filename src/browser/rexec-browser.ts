/**
 * The browser build's `RExec`: the core class, refusing up front — with a
 * message that says what to use instead — the options a page cannot have:
 * Node worker mode (`worker`), Python guests (`language: "python"`), the
 * guest's fetch (`okFetchOrigins`), and an engine other than the one the
 * browser build ships (its wasm is the only one {@link initRExec} loads).
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
      if ((options as { language?: unknown }).language === "python") {
        throw new TypeError('rexec (browser): Python guests ({ language: "python" }) are not available in a browser: they run on Pyodide host-side, which needs Node; the browser build runs JavaScript and TypeScript guests');
      }
      if (Array.isArray(options.okFetchOrigins) && options.okFetchOrigins.length > 0) {
        // Refused here, not at the guest's first fetch: the host learns at once that the grant cannot work.
        throw new TypeError("rexec (browser): okFetchOrigins: the guest's fetch is not available in a browser (it needs host-side per-hop origin and DNS checks a page cannot make); fetch in a host function instead and pass the data in");
      }
      if (options.engine !== undefined && options.engine !== ENGINE_VARIANT) {
        throw new TypeError(`rexec (browser): the browser build ships the ${ENGINE_VARIANT} engine only (options.engine ${JSON.stringify(String(options.engine)).slice(0, 40)})`);
      }
    }
    super(options);
  }
}
