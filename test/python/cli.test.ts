// `rexec run script.py` (the built binary, like test/cli), and `rexec eval` never loading the Python layer.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { rexec, runNode, bin, repoRoot } from "../cli/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "rexec-py-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "helper.py"), "def double(x):\n    return 2 * x\n");
writeFileSync(join(dir, "main.py"), [
  "import sys, os, helper",
  "print('args', sys.argv[1:], 'env', os.environ.get('PY_CLI_VAR'))",
  "print(helper.double(21))",
  "if sys.argv[1:] == ['fail']:",
  "    raise ValueError('boom')",
  "if sys.argv[1:] == ['exit']:",
  "    sys.exit(7)",
  "if sys.argv[1:] == ['socket']:",
  "    import socket",
  "if sys.argv[1:] == ['stdin']:",
  "    print(input().upper())",
].join("\n"));

test("rexec run script.py: modules beside it, argv, --allow-env, tracebacks, exit codes, refusals name the flag", async () => {
  const [ok, failed, exited, denied, badFlag, piped] = await Promise.all([
    rexec(["run", "--allow-env=PY_CLI_VAR", join(dir, "main.py"), "a"], { env: { PY_CLI_VAR: "hello" } }),
    rexec(["run", join(dir, "main.py"), "fail"], { env: { PY_CLI_VAR: "hidden" } }),
    rexec(["run", join(dir, "main.py"), "exit"]),
    rexec(["run", join(dir, "main.py"), "socket"]),
    rexec(["run", "--allow-net", join(dir, "main.py")]),
    rexec(["run", join(dir, "main.py"), "stdin"], { input: "from a pipe\n" }),
  ]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.match(piped.stdout, /FROM A PIPE\n$/);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, "args ['a'] env hello\n42\n");
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /env None/);
  assert.match(failed.stderr, /File "\/main.py", line 5, in <module>\nValueError: boom/);
  assert.equal(exited.code, 7);
  assert.equal(denied.code, 7);
  assert.match(denied.stderr, /--allow-module socket/);
  assert.equal(badFlag.code, 2);
});

test("rexec run script.py --allow-read: granted host files are readable (copied in), others refused naming the flag", async () => {
  const reader = join(dir, "reader.py");
  writeFileSync(reader, "import sys, json\nprint(json.load(open(sys.argv[1]))['name'])\n");
  const pkg = join(repoRoot, "package.json");
  // The refusals read a host file outside /tmp and /home/guest, the guest's own in-memory
  // directories (where an ungranted path is the guest's, not the host's): the checkout itself
  // may live under /tmp.
  const host = "/etc/passwd";
  const [granted, refused, denied] = await Promise.all([
    rexec(["run", `--allow-read=${pkg}`, reader, pkg]),
    rexec(["run", reader, host]),
    rexec(["run", "--allow-read=/etc", `--deny-read=${host}`, reader, host]),
  ]);
  assert.equal(granted.code, 0, granted.stderr);
  assert.equal(granted.stdout, "rexec\n");
  assert.equal(refused.code, 7, refused.stderr);
  assert.match(refused.stderr, new RegExp(`--allow-read=${host}`));
  assert.equal(denied.code, 7, denied.stderr);
  assert.match(denied.stderr, /deny-read/);
});

test("the built package runs Python from require() and import (seen failing: the CommonJS rewrite of import.meta.url met a local named require)", async () => {
  const code = "(async () => { const rx = new RExec({ language: 'python' }); const v = await rx.r_eval('sum(range(10))'); rx.dispose(); console.log(rx instanceof PythonRExec, v); })()";
  const [cjs, esm] = await Promise.all([
    runNode(["-e", `const { RExec, PythonRExec } = require(${JSON.stringify(join(repoRoot, "dist/index.cjs"))});\n${code}`]),
    runNode(["--input-type=module", "-e", `import { RExec, PythonRExec } from ${JSON.stringify(pathToFileURL(join(repoRoot, "dist/index.js")).href)};\n${code}`]),
  ]);
  assert.equal(cjs.stdout, "true 45\n", cjs.stderr);
  assert.equal(esm.stdout, "true 45\n", esm.stderr);
});

test("rexec eval 1+1 loads nothing of the Python layer", async () => {
  const hooks = join(dir, "hooks.mjs");
  writeFileSync(hooks, "export async function resolve(s, c, next) { const r = await next(s, c); if (/python|pyodide/i.test(r.url)) process.stderr.write('LOADED ' + r.url + '\\n'); return r; }\n");
  const register = join(dir, "register.mjs");
  writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const [js, py] = await Promise.all([
    runNode(["--import", pathToFileURL(register).href, bin, "eval", "-p", "1+1"]),
    runNode(["--import", pathToFileURL(register).href, bin, "run", join(dir, "main.py")]),
  ]);
  assert.equal(js.stdout, "2\n");
  assert.doesNotMatch(js.stderr, /LOADED/);
  assert.match(py.stderr, /LOADED .*python-run/, "the hook does see the Python layer when it loads");
});
