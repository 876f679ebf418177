// Build: TypeScript → dist/, guest-side sources copied beside their modules,
// and the safe builtin modules bundled for the guest.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { transformSync } from "esbuild";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json")], { stdio: "inherit" });

// Guest-side sources live in src/**/guest/*.js and are read at run time. Each
// is a single function expression evaluated once per sandbox, so dist/ gets a
// minified copy: the engine parses it on every sandbox start, and parse time
// grows with the text (src/ keeps the commented original).
function minifyGuestSource(source) {
  const { code } = transformSync(`__rexecGuest=${source}`, { minify: true, target: "es2022", charset: "utf8" });
  const body = code.trim().replace(/^__rexecGuest=/, "").replace(/;$/, "");
  return `(${body})`;
}
function copyGuestDirs(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    if (name === "guest") {
      const out = path.replace(join(root, "src"), join(root, "dist"));
      mkdirSync(out, { recursive: true });
      for (const file of readdirSync(path)) {
        if (!file.endsWith(".js")) continue;
        writeFileSync(join(out, file), minifyGuestSource(readFileSync(join(path, file), "utf8")));
      }
    } else copyGuestDirs(path);
  }
}
copyGuestDirs(join(root, "src"));

if (existsSync(join(root, "scripts/build-builtins.mjs"))) {
  execFileSync(process.execPath, [join(root, "scripts/build-builtins.mjs")], { stdio: "inherit", cwd: root });
}
// The web-standard globals' guest bundles (URL, TextEncoder, crypto, Intl…): dist/web/*.js.
execFileSync(process.execPath, [join(root, "scripts/build-web.mjs")], { stdio: "inherit", cwd: root });
// The command line's start-up bundle: dist/cli-bundle/ (bin/rexec.js loads it).
execFileSync(process.execPath, [join(root, "scripts/build-cli.mjs")], { stdio: "inherit", cwd: root });
// The CommonJS entry for `require("rexec")`: dist/index.cjs (+ dist/index.d.cts).
execFileSync(process.execPath, [join(root, "scripts/build-cjs.mjs")], { stdio: "inherit", cwd: root });
