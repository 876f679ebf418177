/**
 * Whether a REPL entry that failed to parse is only unfinished: QuickJS says
 * "invalid property name" for `const o = {` and "variable name expected" for
 * `const {a` at the end of the input, the same words it uses for real
 * mistakes. So besides its end-of-input messages, an entry whose brackets,
 * template or block comment are still open counts as unfinished, as in node.
 *
 * Invariant: one linear scan of the entry (the REPL caps an entry's length).
 *
 * @packageDocumentation
 */

const OPEN: Record<string, string> = { "(": ")", "[": "]", "{": "}" };

/**
 * True when `code` ends inside an open bracket, template literal or block
 * comment. A heuristic over tokens it cannot fully know (a `/` may start a
 * regular expression), used only for code that already failed to parse.
 */
export function leftOpen(code: string): boolean {
  // Closers expected, innermost last; "`" marks a template whose `${` is open.
  const stack: string[] = [];
  let i = 0;
  const n = code.length;
  while (i < n) {
    const c = code[i]!;
    if (c === "/" && code[i + 1] === "/") {
      const end = code.indexOf("\n", i);
      if (end < 0) break;
      i = end + 1;
    } else if (c === "/" && code[i + 1] === "*") {
      const end = code.indexOf("*/", i + 2);
      if (end < 0) return true;
      i = end + 2;
    } else if (c === "'" || c === '"') {
      i++;
      while (i < n && code[i] !== c && code[i] !== "\n") i += code[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === "`" || (c === "}" && stack[stack.length - 1] === "`}")) {
      if (c === "}") stack.pop();
      i++;
      // Inside a template: up to its end or the next `${`.
      for (;;) {
        if (i >= n) return true;
        if (code[i] === "\\") { i += 2; continue; }
        if (code[i] === "`") { i++; break; }
        if (code[i] === "$" && code[i + 1] === "{") { stack.push("`}"); i += 2; break; }
        i++;
      }
    } else if (OPEN[c] !== undefined) {
      stack.push(OPEN[c]!);
      i++;
    } else if (c === ")" || c === "]" || c === "}") {
      if (stack[stack.length - 1] === c) stack.pop();
      else return false; // a stray closer: a real mistake, not an unfinished entry
      i++;
    } else i++;
  }
  return stack.length > 0;
}
