/**
 * Traversal attempts shared by the MemoryHooks and FileSystemHooks tests. Each is
 * resolved from the root (no referrer); the expected outcome is a
 * RestrictedError ("restricted") or "not found" — never a module outside the root.
 * `secret.js` exists one level above a FileSystemHooks test root.
 */
export const HOSTILE: ReadonlyArray<readonly [string, "restricted" | "notfound"]> = [
  ["../secret.js", "restricted"],
  ["../../secret.js", "restricted"],
  ["./../secret", "restricted"],
  ["./lib/../../secret.js", "restricted"],
  ["..", "restricted"],
  ["../", "restricted"],
  ["..%2fsecret.js", "notfound"],
  ["%2e%2e/secret.js", "notfound"],
  ["./%2e%2e/secret.js", "notfound"],
  ["./%2e%2e%2fsecret.js", "notfound"],
  ["/etc/passwd", "notfound"],
  ["//etc/passwd", "notfound"],
  ["/../secret.js", "restricted"],
  ["file:///etc/passwd", "restricted"],
  ["file:///secret.js", "restricted"],
  ["FILE:../secret.js", "restricted"],
  ["data:text/javascript,export default 1", "restricted"],
  ["http://127.0.0.1/x.js", "restricted"],
  ["C:\\secret.js", "restricted"],
  ["\\..\\secret.js", "restricted"],
  ["..\\secret.js", "restricted"],
  ["./lib\\..\\..\\secret.js", "restricted"],
  ["a/../../secret.js", "notfound"],
  ["legacy/../../secret.js", "notfound"],
  ["legacy/../../../secret", "notfound"],
  ["./lib/util.js\0../../secret.js", "restricted"],
  ["secret.js\0", "restricted"],
  ["../secret.js\0.js", "restricted"],
  ["\0", "restricted"],
];
