#!/usr/bin/env node
// The rexec command line; the implementation is in dist/cli, bundled for
// start-up into dist/cli-bundle (both built by `npm run build`).
import("../dist/cli-bundle/main.mjs").then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (error) => { process.stderr.write(`rexec: internal error: ${error?.stack ?? error}\n`); process.exitCode = 70; },
);
