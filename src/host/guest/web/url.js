// Guest bundle: URL and URLSearchParams from core-js (the "pure" build: it
// defines nothing global, it only exports).
//
// Why core-js: it is the most used standard-library polyfill, and its URL is a
// complete WHATWG URL parser (IDNA via its own punycode) that needs neither
// Intl nor TextEncoder — QuickJS-ng has neither. whatwg-url, the reference
// implementation, needs TextEncoder and tr46's Unicode mapping table (several
// hundred KB to parse in every realm that touches URL).
import URL from "core-js-pure/stable/url/index.js";
import URLSearchParams from "core-js-pure/stable/url-search-params/index.js";

export { URL, URLSearchParams };
