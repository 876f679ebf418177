/**
 * The guest-side sources the core reads with `readFileSync` at run time
 * (kernel, prelude, web-standard bundles, builtin modules), embedded by
 * scripts/build-browser.mjs as a virtual module: URL (as the core computes it
 * from its rewritten `import.meta.url`) → text.
 */
declare module "rexec:embedded-files" {
  const files: Readonly<Record<string, string>>;
  export default files;
}
