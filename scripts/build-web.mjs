// Bundle the guest side of the web-standard globals (URL, TextEncoder, crypto,
// Intl, …) from src/host/guest/web/*.js into dist/web/<name>.js.
//
// Each output is one JavaScript *expression* whose value is the entry's exports
// object. The guest evaluates it lazily, the first time one of its globals is
// read (src/host/guest/web-globals.js), so realm start-up parses none of it.
//
// The bundles reference no host global: like the builtin modules
// (scripts/build-builtins.mjs), every free identifier is a JS builtin or a
// global of the guest's own realm, and host capabilities arrive only as the
// guest-side native wrapper passed to a factory (crypto, Intl).
//
// Usage: node scripts/build-web.mjs (from anywhere). Prints nothing on success.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const srcDir = join(repo, "src", "host", "guest", "web");
const outDir = join(repo, "dist", "web");
const GLOBAL_NAME = "__rexecWebExports";

mkdirSync(outDir, { recursive: true });
await Promise.all(
  readdirSync(srcDir)
    .filter((file) => file.endsWith(".js"))
    .map(async (file) => {
      const result = await build({
        entryPoints: [join(srcDir, file)],
        bundle: true,
        write: false,
        format: "iife",
        globalName: GLOBAL_NAME,
        platform: "browser",
        target: "es2020",
        minify: true,
        legalComments: "inline",
        logLevel: "silent",
        charset: "utf8",
        mainFields: ["browser", "module", "main"],
      });
      const text = result.outputFiles[0].text.trim();
      // `var __rexecWebExports=(()=>{…})();` → the parenthesised IIFE alone, so
      // evaluating the file defines no global variable.
      const prefix = `var ${GLOBAL_NAME}=`;
      const at = text.indexOf(prefix);
      if (at < 0) throw new Error(`build-web: unexpected esbuild output for ${file}`);
      const expr = text.slice(at + prefix.length).replace(/;\s*$/, "");
      const legal = text.slice(0, at);
      // Strict mode for the whole bundle: no sloppy function in it has a
      // `caller` or `arguments` through which guest code could reach a closure.
      const strict = legal.includes('"use strict"') ? "" : '"use strict";';
      writeFileSync(join(outDir, file), `${strict}${legal}(${expr})\n`);
    }),
);
