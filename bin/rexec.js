#!/usr/bin/env node
// The rexec command line; the implementation is in dist/cli (built by `npm run build`).
import("../dist/cli/main.js").then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (error) => { process.stderr.write(`rexec: internal error: ${error?.stack ?? error}\n`); process.exitCode = 70; },
);
