// Guest bundle: URL, URLSearchParams, atob, btoa and structuredClone from
// core-js (the "pure" build: it defines nothing global, it only exports).
//
// Why core-js: it is the most used standard-library polyfill, its URL is a
// complete WHATWG URL parser (IDNA via its own punycode, no Intl or
// TextEncoder needed — QuickJS-ng has neither), and its structuredClone handles
// Map, Set, Date, RegExp, typed arrays, errors and cycles inside the guest's own
// realm. whatwg-url was the alternative for URL, but it needs TextEncoder and
// tr46's Unicode mapping table (several hundred KB) and has no atob/clone.
import URL from "core-js-pure/stable/url/index.js";
import URLSearchParams from "core-js-pure/stable/url-search-params/index.js";
import atob from "core-js-pure/stable/atob.js";
import btoa from "core-js-pure/stable/btoa.js";
import structuredClone from "core-js-pure/stable/structured-clone.js";

export { URL, URLSearchParams, atob, btoa, structuredClone };
