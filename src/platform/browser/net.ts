/**
 * `node:net` for the browser build: `isIP` and a `BlockList` with
 * `addSubnet` / `check`, as the origin policy (src/loader/hooks/net-policy.ts)
 * uses them to refuse private addresses.
 *
 * Security: the parsers are strict — anything that is not a plain dotted-quad
 * IPv4 (no leading zeros, each part ≤ 255) or a well-formed IPv6 literal is
 * "not an IP" (0), which the policy treats as private (refused unless granted
 * by name). An error here can only refuse more, never allow more.
 *
 * @packageDocumentation
 */

const V4_PART = /^(?:0|[1-9]\d{0,2})$/;

/** The 4 bytes of a dotted-quad IPv4 address, or undefined. */
function parseV4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!V4_PART.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/** The 16 bytes of an IPv6 address (`::` compression and a trailing dotted quad allowed; no zone), or undefined. */
function parseV6(text: string): number[] | undefined {
  if (text.length > 45 || text.includes("%")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const toWords = (s: string): number[] | undefined => {
    if (s === "") return [];
    const words: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (!v4) return undefined;
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (HEXTET.test(p)) words.push(parseInt(p, 16));
      else return undefined;
    }
    return words;
  };
  const head = toWords(halves[0]!);
  const tail = halves.length === 2 ? toWords(halves[1]!) : [];
  if (!head || !tail) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    words = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else words = head;
  if (words.length !== 8) return undefined;
  return words.flatMap((w) => [w >> 8, w & 255]);
}

/** 4 for an IPv4 address, 6 for an IPv6 address, 0 otherwise (as Node's `net.isIP`). */
export function isIP(input: string): 0 | 4 | 6 {
  if (typeof input !== "string") return 0;
  if (parseV4(input)) return 4;
  if (parseV6(input)) return 6;
  return 0;
}

type Family = "ipv4" | "ipv6";

/** Address ranges, checked by prefix (the subset of Node's BlockList the policy uses). */
export class BlockList {
  readonly #subnets: Array<{ family: Family; bytes: number[]; bits: number }> = [];

  addSubnet(network: string, prefix: number, type: Family = "ipv4"): void {
    const bytes = type === "ipv4" ? parseV4(network) : parseV6(network);
    if (!bytes || !Number.isInteger(prefix) || prefix < 0 || prefix > bytes.length * 8) throw new TypeError(`bad subnet ${network}/${prefix}`);
    this.#subnets.push({ family: type, bytes, bits: prefix });
  }

  addAddress(address: string, type: Family = "ipv4"): void {
    this.addSubnet(address, type === "ipv4" ? 32 : 128, type);
  }

  check(address: string, type: Family = "ipv4"): boolean {
    const bytes = type === "ipv4" ? parseV4(address) : parseV6(address);
    if (!bytes) return false;
    return this.#subnets.some((s) => s.family === type && prefixMatches(bytes, s.bytes, s.bits));
  }
}

function prefixMatches(a: readonly number[], b: readonly number[], bits: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (a[i] !== b[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (a[i]! & mask) === (b[i]! & mask);
}

export default { isIP, BlockList };
