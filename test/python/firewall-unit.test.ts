// The Python firewall by itself (no interpreter): what it answers and what it remembers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { makeFirewall, SandboxViolation } from "../../src/python/firewall.js";

function armedTable(): { env: Record<string, (...args: number[]) => unknown> } & { firewall: ReturnType<typeof makeFirewall> } {
  const env: Record<string, (...args: number[]) => unknown> = {
    __syscall_socket: () => 3,
    _try_fcntl64: () => 1,
    emscripten_run_script: () => 0,
    JsProxy_GetAttr_js: () => 0,
  };
  const firewall = makeFirewall(() => true);
  firewall.wrapImports({ env });
  firewall.arm();
  return Object.assign({ env }, { firewall });
}

test("the list of denied imports a guest reached stays bounded however often it asks", () => {
  // A guest calling socket() in a loop (~150,000 a second) pushed a name per call into an array in the worker's
  // JS heap, without end for the life of the call. Seen failing: 100,000 entries.
  const { env, firewall } = armedTable();
  for (let i = 0; i < 100_000; i++) assert.equal(env.__syscall_socket!(2, 1, 0), -2);
  assert.ok(firewall.violations.length <= 100, `${firewall.violations.length} remembered`);
  assert.equal(firewall.violations[0], "__syscall_socket");
  assert.equal(firewall.death, undefined);
  assert.throws(() => env.emscripten_run_script!(0), SandboxViolation);
  assert.ok(firewall.death instanceof SandboxViolation);
});

test("Pyodide's socket probe before fcntl answers 'not a socket' instead of killing the sandbox (os.dup works)", () => {
  // Seen failing: a SandboxViolation (os.dup in a guest stopped the interpreter).
  const { env, firewall } = armedTable();
  assert.equal(env._try_fcntl64!(3, 0, 0, 0), 0);
  assert.equal(firewall.death, undefined);
  // The rest of Pyodide's JS FFI stays a violation.
  assert.throws(() => env.JsProxy_GetAttr_js!(0), SandboxViolation);
});
