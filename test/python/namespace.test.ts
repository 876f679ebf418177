// Python guests, hostile modules: what r_import hands the host is a plain object the host's own built-ins can
// use without running guest code (SECURITY.md §9, the implicit-call rule) and whose prototype the guest cannot set.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PythonRExec } from "../../src/python/python-rexec.js";
import { MemoryHooks } from "../../src/loader/hooks/memory-hooks.js";

const IMPLICIT = "def then(*a):\n    pass\ndef toJSON(*a):\n    return 'guest'\ndef toString(*a):\n    return 'guest'\ndef valueOf(*a):\n    return 7\ndef constructor(*a):\n    pass\ndef ok(a):\n    return a + 1\nx = 1\n";
const PROTO = "import sys\nsetattr(sys.modules[__name__], '__proto__', {'polluted': 1})\n__all__ = ['__proto__', 'y']\ny = 2\n";

test("r_import of a module with then/toJSON/toString/valueOf functions and a __proto__ name", async () => {
  const rx = new PythonRExec({ spare: false, hooks: new MemoryHooks({ files: { "/m.py": IMPLICIT, "/p.py": PROTO } }) });
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error("r_import never settled (the host adopted the guest's then)")), 20_000); });
  try {
    const m = await Promise.race([rx.r_import<Record<string, unknown>>("m"), hang]);
    for (const name of ["then", "toJSON", "toString", "valueOf", "constructor"]) assert.equal(Object.hasOwn(m, name), false, name);
    assert.equal(m.x, 1);
    assert.equal(await (m.ok as (a: number) => Promise<number>)(1), 2);
    assert.equal(JSON.stringify({ x: m.x }), '{"x":1}');
    assert.equal(String(m), "[object Object]");
    const p = await Promise.race([rx.r_import<Record<string, unknown>>("p"), hang]);
    assert.equal(Object.getPrototypeOf(p), Object.prototype);
    assert.equal(Object.hasOwn(p, "__proto__"), true);
    assert.equal((p as { polluted?: unknown }).polluted, undefined);
    assert.equal(p.y, 2);
  } finally {
    clearTimeout(timer);
    rx.dispose();
  }
});
