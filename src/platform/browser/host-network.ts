/**
 * `node:http`, `node:https` and `node:dns` for the browser build: the guest's
 * `fetch` is made host-side with Node's HTTP client and DNS checks (per-hop
 * origin and private-address checks, src/host/fetch-host.ts), which a page
 * cannot do — it cannot see addresses or stop redirects per hop. So a request
 * a policy grants still fails here, with this error; ungranted requests are
 * refused by the policy before reaching it.
 *
 * @packageDocumentation
 */
const NO_FETCH = "rexec (browser): the guest's fetch is not available in the browser build";

export function request(): never {
  throw new Error(NO_FETCH);
}
export function lookup(): never {
  throw new Error(NO_FETCH);
}
export const Agent = class {
  constructor() {
    throw new Error(NO_FETCH);
  }
};

export default { request, lookup, Agent };
