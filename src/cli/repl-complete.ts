/**
 * Tab completion in the REPL: names of guest globals (`Ma` → `Math`) and of
 * properties along a dotted path (`Math.fl` → `Math.floor`), asked from the
 * guest itself.
 *
 * Invariant: the host runs no guest-derived text through anything unbounded.
 * The guest is asked under a short deadline (its own limits apply too); the
 * answer is used only if it is an array, and only its first
 * {@link MAX_COMPLETIONS} entries that are strings of at most 100 characters
 * shaped like identifiers. The dotted path is the user's own typing, checked
 * against an identifier pattern before it is put in the question.
 *
 * @packageDocumentation
 */
import type { RExec } from "../host/rexec.js";

/** Names kept from one answer. */
export const MAX_COMPLETIONS = 2000;
/** Deadline for one question to the guest, in ms. */
const COMPLETION_MS = 250;

const PATH = /(?:^|[^\w$.])((?:[A-Za-z_$][\w$]*\.){0,8})([A-Za-z_$][\w$]{0,99})?$/;
const IDENT = /^[A-Za-z_$][\w$]*$/;

/**
 * The guest-side question: own property names along the prototype chain,
 * capped, of the object the dotted path names. The path is followed through
 * data properties only, as node's REPL avoids side effects: a getter on the
 * way (`obj.slow.` with a looping `get slow()`) answers nothing instead of
 * running — in-thread the host cannot take control back before the guest's
 * --timeout, and the terminal would freeze until then. The first name is
 * evaluated as itself (it may be a `let` of the session) unless it is an
 * accessor of the global object.
 */
function question(parts: readonly string[]): string {
  const [first, ...rest] = parts;
  const start = first === undefined ? "globalThis" : `(() => { for (let p = globalThis; p != null; p = Object.getPrototypeOf(p)) { const d = Object.getOwnPropertyDescriptor(p, ${JSON.stringify(first)}); if (d) { if (!("value" in d)) throw 0; break; } } return ${first}; })()`;
  return `(() => { let o = ${start};
    for (const k of ${JSON.stringify(rest)}) { if (o == null) return []; let d; for (let p = Object(o); p != null && !d; p = Object.getPrototypeOf(p)) d = Object.getOwnPropertyDescriptor(p, k); if (!d || !("value" in d)) return []; o = d.value; }
    const out = []; for (let d = 0; o != null && d < 6 && out.length < ${MAX_COMPLETIONS}; d++) {
    for (const k of Object.getOwnPropertyNames(o)) { if (out.length >= ${MAX_COMPLETIONS}) break; out.push(k); }
    o = Object.getPrototypeOf(o); } return out; })()`;
}

/** A readline completer (callback form) over the current sandbox. */
export function completer(current: () => RExec) {
  return (line: string, callback: (error: null, result: [string[], string]) => void): void => {
    const m = PATH.exec(line.length > 1000 ? "" : line);
    if (!m) return callback(null, [[], line]);
    const dotted = m[1] ?? "";
    const word = m[2] ?? "";
    // Identifiers only (checked by PATH), so the names are safe to place in the question.
    const parts = dotted === "" ? [] : dotted.slice(0, -1).split(".");
    const rx = current();
    rx.r_eval(question(parts), { signal: AbortSignal.timeout(COMPLETION_MS) }).then(
      (names) => {
        const seen = new Set<string>();
        if (Array.isArray(names)) {
          for (const name of names.slice(0, MAX_COMPLETIONS)) {
            if (typeof name === "string" && name.length <= 100 && IDENT.test(name) && name.startsWith(word)) seen.add(`${dotted}${name}`);
          }
        }
        callback(null, [[...seen].sort(), `${dotted}${word}`]);
      },
      () => callback(null, [[], line]),
    );
  };
}
