// Python guests, friendly: every module the default okBuiltinModules promises can be imported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RestrictedError } from "../../src/host/errors.js";
import { PythonRExec } from "../../src/python/python-rexec.js";

test("every default okBuiltinModules entry imports; modules outside it stay refused", async () => {
  // Modules stored compressed in the standard-library zip (hashlib, csv, uuid, calendar, pprint… 12 of the list)
  // failed with "ZipImportError: can't decompress data; zlib not available": zipimport's own import of zlib met
  // the import gate as if the guest had asked for it. Seen failing: those 12 names.
  const rx = new PythonRExec({ spare: false, limits: { timeoutMs: 20_000 } });
  try {
    // zipimport may import zlib to decompress a module; the guest itself may not (before a compressed module has
    // loaded it: from then on it sits in sys.modules, like every stdlib helper — okBuiltinModules is policy).
    await assert.rejects(rx.r_exec("import zlib"), RestrictedError);
    await assert.rejects(rx.r_exec("from zlib import decompress"), RestrictedError);
    const failed = await rx.r_eval<Record<string, string>>(`failed = {}
for name in ${JSON.stringify(PythonRExec.okBuiltinModules)}:
    try:
        __import__(name)
    except BaseException as e:
        failed[name] = repr(e)[:200]
failed`);
    assert.deepEqual(failed, {});
    assert.equal(await rx.r_eval("import hashlib, csv, io\nw = io.StringIO()\ncsv.writer(w).writerow(['a', 1])\nhashlib.sha256(w.getvalue().encode()).hexdigest()[:8]"), "5cd184a5");
  } finally {
    rx.dispose();
  }
});
