/**
 * `--allow-import[=<host>…]`: modules over HTTP(S), Deno's way. Each allowed
 * origin gets its own {@link UrlHooks} (which does the fetching, size and time
 * caps and per-hop redirect checks); this wrapper decides which origins are
 * allowed, and refuses the others naming the flag that would allow them.
 *
 * Invariant: nothing is fetched from an origin the flags did not allow, and a
 * `--deny-import` entry wins over any allow.
 *
 * @packageDocumentation
 */
import { RestrictedError } from "../host/errors.js";
import { UrlHooks } from "../loader/hooks/url-hooks.js";
import type { LoadedModule, ResolveKind, RHooks } from "../loader/types.js";

/** Does an `--allow-import`/`--deny-import` entry (an origin, or a host[:port]) match `url`? */
function matches(entry: string, url: URL): boolean {
  if (/^https?:\/\//i.test(entry)) {
    try {
      return new URL(entry).origin === url.origin;
    } catch {
      return false;
    }
  }
  return entry.toLowerCase() === url.host.toLowerCase() || entry.toLowerCase() === url.hostname.toLowerCase();
}

/** Remote modules from the origins `allow` names (`true`: any), minus `deny`. */
export class RemoteModules implements RHooks {
  readonly cwd: string;
  readonly #allow: true | readonly string[];
  readonly #deny: true | readonly string[];
  readonly #byOrigin = new Map<string, UrlHooks>();

  constructor(base: string, allow: true | readonly string[], deny: true | readonly string[]) {
    this.cwd = new URL(".", base).href;
    this.#allow = allow;
    this.#deny = deny;
  }

  /** The hooks for `href`'s origin, or a refusal naming the flag. */
  #hooksFor(href: string): UrlHooks {
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      throw new RestrictedError(`import of ${href} (not a URL)`, "import a full http(s) URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new RestrictedError(`import of ${url.href}`, "only http: and https: modules can be imported");
    const denied = this.#deny === true ? "--deny-import" : this.#deny.find((e) => matches(e, url));
    if (denied !== undefined) {
      const by = denied === "--deny-import" ? denied : `--deny-import=${denied}`;
      throw new RestrictedError(`import of ${url.href} (denied by ${by})`, `rerun without ${by}`);
    }
    if (this.#allow !== true && !this.#allow.some((e) => matches(e, url))) {
      throw new RestrictedError(`import of ${url.href}`, `rerun with --allow-import=${url.host}`, `--allow-import=${url.host}`);
    }
    let hooks = this.#byOrigin.get(url.origin);
    if (hooks === undefined) {
      hooks = new UrlHooks({ base: `${url.origin}/`, allow: [url.origin] });
      this.#byOrigin.set(url.origin, hooks);
    }
    return hooks;
  }

  /** {@inheritDoc RHooks.resolve} */
  resolve(specifier: string, referrer: string | undefined, kind: ResolveKind): Promise<string | undefined> {
    // Bare names have no meaning over HTTP (UrlHooks' rule): not found.
    if (!/^https?:\/\//i.test(specifier) && !/^\.{0,2}\//.test(specifier)) return Promise.resolve(undefined);
    let href: string;
    try {
      href = new URL(specifier, referrer !== undefined && /^https?:/i.test(referrer) ? referrer : this.cwd).href;
    } catch {
      return Promise.reject(new RestrictedError(`import of ${specifier} (not a URL)`, "import a full http(s) URL"));
    }
    try {
      return this.#hooksFor(href).resolve(href, referrer, kind);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** {@inheritDoc RHooks.load} */
  load(id: string): Promise<LoadedModule> {
    try {
      return this.#hooksFor(id).load(id);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
