/** `node:buffer` for the browser build: the `buffer` package (feross) with Node's raw slicers (see buffer-class.ts). */
export { Buffer } from "./buffer-class.js";
