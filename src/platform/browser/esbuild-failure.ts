/**
 * esbuild's failure shape (a `TransformFailure`), so errors of the browser
 * stand-ins reach the core's usual reporting: transpile.ts turns
 * `errors[0]` into `SyntaxError("<id>:<line>:<col>: <text>")`, the guest sees
 * a GuestError SyntaxError.
 */

/** An esbuild message location: `line` 1-based, `column` 0-based (as esbuild's). */
export interface FailureLocation {
  line: number;
  column: number;
}

export function failure(text: string, location: FailureLocation | null = null): Error & { errors: unknown[]; warnings: unknown[] } {
  return Object.assign(new Error(text), { errors: [{ text, location }], warnings: [] });
}
