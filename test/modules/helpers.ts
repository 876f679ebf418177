/** Shared fixtures for the module integration tests: a temp root plus a canary outside it. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after } from "node:test";

export const CANARY = "CANARY-7f3e9a1c-outside-the-root";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rexec-mod-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;

/** A fresh `<base>/root` holding `files`, and `<base>/outside` + `<base>/secret.js` holding the canary. */
export function makeRoot(files: Record<string, string>): { base: string; root: string; outside: string } {
  const base = path.join(tmp, `t${counter++}`);
  const root = path.join(base, "root");
  const outside = path.join(base, "outside");
  fs.mkdirSync(root, { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  for (const [name, text] of Object.entries(files)) write(path.join(root, name), text);
  write(path.join(outside, "secret.js"), `module.exports = ${JSON.stringify(CANARY)};`);
  write(path.join(outside, "secret.txt"), CANARY);
  write(path.join(base, "secret.js"), `module.exports = ${JSON.stringify(CANARY)};`);
  write(path.join(base, "secret.txt"), CANARY);
  return { base, root, outside };
}

export function write(p: string, text: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
}

/** Everything a value or error says, as one string, for canary checks. */
export function dump(value: unknown): string {
  if (value instanceof Error) {
    return [value.name, value.message, value.stack, JSON.stringify({ ...value }, replacer)].join("\n");
  }
  try {
    return JSON.stringify(value, replacer) ?? String(value);
  } catch {
    return String(value);
  }
}

function replacer(_key: string, v: unknown): unknown {
  if (typeof v === "function") return `[fn ${v.name}]`;
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("latin1");
  return v;
}

/** Settle a promise into { ok, value | error }. */
export async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}
