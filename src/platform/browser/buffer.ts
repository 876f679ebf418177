/** `node:buffer` for the browser build: the `buffer` package (feross), the usual browser Buffer. */
export { Buffer } from "buffer";
