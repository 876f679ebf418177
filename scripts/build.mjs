// Build: TypeScript → dist/, guest-side sources copied beside their modules,
// and the safe builtin modules bundled for the guest.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json")], { stdio: "inherit" });

// Guest-side sources live in src/**/guest/*.js and are read at run time.
function copyGuestDirs(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    if (name === "guest") cpSync(path, path.replace(join(root, "src"), join(root, "dist")), { recursive: true });
    else copyGuestDirs(path);
  }
}
copyGuestDirs(join(root, "src"));

if (existsSync(join(root, "scripts/build-builtins.mjs"))) {
  execFileSync(process.execPath, [join(root, "scripts/build-builtins.mjs")], { stdio: "inherit", cwd: root });
}
