/**
 * Network policy shared by {@link UrlHooks} (module loading) and the guest's
 * `fetch` (src/host/fetch-host.ts): which origins a request may go to, and
 * which addresses count as private.
 *
 * Invariant: a URL passes {@link originAllowed} only if it is `http:`/`https:`,
 * carries no embedded credentials, and its origin is on the list — exactly, or
 * as `scheme://host:*` (that scheme and host on any port) — or the list holds
 * `"*"`; an address passes {@link isPrivateAddress} as public only if it
 * is outside every loopback, private, link-local, shared, multicast and
 * reserved range (IPv4, IPv6, and IPv4 mapped into IPv6).
 *
 * @packageDocumentation
 */
import { BlockList, isIP } from "node:net";

/**
 * Parse a list of origins (`"https://api.example.com"`, `"http://127.0.0.1:8080"`,
 * `"http://localhost:*"` for any port) into their canonical forms (`URL.origin`,
 * or `scheme://hostname:*`). `"*"` stays `"*"` when `wildcard` is true.
 * Throws a TypeError naming `label` and the bad entry.
 */
export function parseOrigins(list: unknown, label: string, wildcard = false): ReadonlySet<string> {
  if (!Array.isArray(list)) throw new TypeError(`${label} must be a list of origins`);
  const out = new Set<string>();
  for (const o of list as unknown[]) {
    if (wildcard && o === "*") {
      out.add("*");
      continue;
    }
    let u: URL;
    const anyPort = typeof o === "string" && o.endsWith(":*");
    try {
      if (typeof o !== "string") throw new Error();
      u = new URL(anyPort ? o.slice(0, -2) : o);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
      if (u.username !== "" || u.password !== "") throw new Error();
      // Only "scheme://host:*": no port ("http://h:80:*"), credentials or path beside the star.
      if (anyPort && !ANY_PORT_ENTRY.test(o)) throw new Error();
    } catch {
      throw new TypeError(`${label} entry ${JSON.stringify(String(o)).slice(0, 200)} is not an http(s) origin (like "https://api.example.com", "http://127.0.0.1:8080" or "http://localhost:*" for any port)`);
    }
    out.add(anyPort ? anyPortKey(u) : u.origin);
  }
  return out;
}

/** An entry for any port: a scheme, a host name or bracketed IPv6 address, ":*". */
const ANY_PORT_ENTRY = /^https?:\/\/(?:\[[0-9a-f:.]+\]|[^/:@[\]?#\\]+):\*$/i;

/** The list entry granting `url`'s scheme and host on any port. */
function anyPortKey(url: URL): string {
  return `${url.protocol}//${url.hostname}:*`;
}

/** Whether `url`'s origin itself is on the list (exactly, or its host on any port) — not merely under `"*"`. */
export function originGranted(url: URL, allow: ReadonlySet<string>): boolean {
  return allow.has(url.origin) || allow.has(anyPortKey(url));
}

/** Why `url` may not be requested under `allow` (`undefined`: it may). */
export function originRefusal(url: URL, allow: ReadonlySet<string>): "credentials" | "origin" | undefined {
  if (url.username !== "" || url.password !== "") return "credentials";
  if (url.protocol !== "http:" && url.protocol !== "https:") return "origin";
  if (!originGranted(url, allow) && !allow.has("*")) return "origin";
  return undefined;
}

/** True when {@link originRefusal} finds nothing. */
export function originAllowed(url: URL, allow: ReadonlySet<string>): boolean {
  return originRefusal(url, allow) === undefined;
}

const blocked = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.88.99.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24],
  ["203.0.113.0", 24], ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) blocked.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128], ["::1", 128], ["64:ff9b::", 96], ["64:ff9b:1::", 48], ["100::", 64], ["2001::", 23], ["2001:db8::", 32],
  ["2002::", 16], ["fc00::", 7], ["fe80::", 10], ["fec0::", 10], ["ff00::", 8],
] as const) blocked.addSubnet(net, bits, "ipv6");

/**
 * True for an address a sandbox must not reach unless it was granted by
 * address: loopback, private, link-local (cloud metadata), shared, multicast,
 * documentation and reserved ranges. Anything that is not an IP literal is
 * treated as private (refuse what we cannot classify).
 */
export function isPrivateAddress(address: string): boolean {
  let a = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  const family = isIP(a);
  if (family === 0) return true;
  if (family === 6) {
    // IPv4 mapped into IPv6 (::ffff:10.0.0.1 or ::ffff:a00:1): judge the IPv4 address.
    const mapped = /^::ffff:(.+)$/i.exec(a);
    if (mapped) {
      const rest = mapped[1]!;
      if (isIP(rest) === 4) return blocked.check(rest, "ipv4");
      const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(rest);
      if (hex) {
        const hi = parseInt(hex[1]!, 16), lo = parseInt(hex[2]!, 16);
        a = `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
        return blocked.check(a, "ipv4");
      }
      return true;
    }
    return blocked.check(a, "ipv6");
  }
  return blocked.check(a, "ipv4");
}
