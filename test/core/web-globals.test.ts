// The web-standard and Node-style globals (URL, TextEncoder, atob, structuredClone,
// AbortController, Event, crypto, Intl, Buffer), used the way real code uses
// them, plus hostile inputs to the host natives behind crypto and Intl.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RExec, RExecPool, FileSystemHooks, GuestError } from "../../src/index.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));

for (const worker of [false, true]) {
  const mode = worker ? "worker" : "in-thread";

  test(`${mode}: URL and URLSearchParams as code uses them`, async () => {
    using rx = new RExec({ worker });
    assert.equal(await rx.r_eval("new URL('../a?b=1#c', 'https://x.org/p/q').href"), "https://x.org/a?b=1#c");
    assert.deepEqual(
      await rx.r_eval("const u = new URL('https://user:pw@EXAMPLE.com:8080/a/./b/../c?x=1&y=%20#h'); [u.host, u.pathname, u.searchParams.get('y'), u.username, u.origin]"),
      ["example.com:8080", "/a/c", " ", "user", "https://example.com:8080"],
    );
    assert.deepEqual(
      await rx.r_eval("const p = new URLSearchParams('a=1&b=2&a=3'); p.append('c', 'x y'); p.sort(); [[...p], p.getAll('a'), p.toString(), [...p.keys()]]"),
      [[["a", "1"], ["a", "3"], ["b", "2"], ["c", "x y"]], ["1", "3"], "a=1&a=3&b=2&c=x+y", ["a", "a", "b", "c"]],
    );
    assert.equal(await rx.r_eval("new URL('http://münchen.de/').hostname"), "xn--mnchen-3ya.de");
    assert.equal(await rx.r_eval("try { new URL('not a url') } catch (e) { e instanceof TypeError }"), true);
    assert.equal(await rx.r_eval("URL.canParse('https://a.b/')"), true);
  });

  test(`${mode}: TextEncoder/TextDecoder round trips, surrogates, streaming, fatal, other encodings refused`, async () => {
    using rx = new RExec({ worker });
    assert.deepEqual(await rx.r_eval("Array.from(new TextEncoder().encode('h€\\u{1F600}'))"), [104, 226, 130, 172, 240, 159, 152, 128]);
    // A lone surrogate is encoded as U+FFFD, as the standard says.
    assert.deepEqual(await rx.r_eval("Array.from(new TextEncoder().encode('a\\ud800b'))"), [97, 239, 191, 189, 98]);
    assert.equal(await rx.r_eval("const s = 'héllo wörld \\u{1F600} ✓'.repeat(1000); new TextDecoder().decode(new TextEncoder().encode(s)) === s"), true);
    assert.equal(await rx.r_eval("new TextDecoder().decode(new Uint8Array([0xe2, 0x82, 0x41, 0xff]))"), "\ufffdA\ufffd");
    assert.equal(await rx.r_eval("new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))"), "A");
    assert.equal(
      await rx.r_eval("const sd = new TextDecoder(); const sb = new TextEncoder().encode('€'); sd.decode(sb.subarray(0, 1), { stream: true }) + sd.decode(sb.subarray(1), { stream: true }) + sd.decode()"),
      "€",
    );
    assert.equal(await rx.r_eval("try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])) } catch (e) { e.name }"), "TypeError");
    assert.match(String(await rx.r_eval("try { new TextDecoder('latin1') } catch (e) { e.name + ': ' + e.message }")), /^RangeError: .*latin1.*UTF-8 only/);
    // Long inputs take the host's bulk path: the same answers, NUL and lone surrogates included.
    assert.deepEqual(
      await rx.r_eval(`
        const long = ('a\\0b\\ud800c€\\u{1F600}'.repeat(200));
        const noNul = long.replaceAll('\\0', '-');
        const enc = new TextEncoder();
        const viaJs = (str) => Array.from(str, (ch) => Array.from(enc.encode(ch))).flat();
        const e1 = enc.encode(noNul), e2 = enc.encode(long);
        const dec = new TextDecoder();
        const bad = new Uint8Array(1000).fill(0x41); bad[500] = 0xff;
        const bom = new Uint8Array(600).fill(0x42); bom.set([0xef, 0xbb, 0xbf]);
        let fatal; try { new TextDecoder('utf-8', { fatal: true }).decode(bad) } catch (e) { fatal = e.name }
        [Array.from(e1).join() === viaJs(noNul).join(), Array.from(e2).join() === viaJs(long).join(),
         dec.decode(e2) === long.replaceAll('\\ud800', '\\ufffd'), dec.decode(bad).indexOf('\\ufffd'), fatal,
         dec.decode(bom).length, new TextDecoder('utf-8', { ignoreBOM: true }).decode(bom).charCodeAt(0), dec.decode(new Uint8Array(e2.buffer, 3, 400)).length > 0]`),
      [true, true, true, 500, "TypeError", 597, 0xfeff, true],
    );
    assert.deepEqual(await rx.r_eval("const into = new Uint8Array(4); const res = new TextEncoder().encodeInto('a€b', into); [res.read, res.written, Array.from(into)]"), [2, 4, [97, 226, 130, 172]]);
  });

  test(`${mode}: atob/btoa and their errors`, async () => {
    using rx = new RExec({ worker });
    assert.deepEqual(await rx.r_eval("[btoa('hello'), atob('aGVsbG8='), atob(' aGVs bG8 ')]"), ["aGVsbG8=", "hello", "hello"]);
    assert.deepEqual(await rx.r_eval("[atob('YQ'), atob('YQ=='), atob(''), btoa(''), btoa('\\xff\\x00a'), atob(btoa('\\xff\\x00a')).length, btoa(atob('/+8='))]"), ["a", "a", "", "", "/wBh", 3, "/+8="]);
    for (const bad of ["***", "Y", "YQ=", "YQ===", "Y===", "é"]) {
      assert.equal(await rx.r_eval(`try { atob(${JSON.stringify(bad)}); 'accepted' } catch (e) { e instanceof DOMException && e.name }`), "InvalidCharacterError", bad);
    }
    assert.equal(await rx.r_eval("try { atob() } catch (e) { e.name }"), "TypeError");
    assert.equal(await rx.r_eval("const big = 'ab\\u00ff'.repeat(100000); atob(btoa(big)) === big"), true);
    assert.equal(await rx.r_eval("const withNul = 'a\\0\\u00ff'.repeat(1000); atob(btoa(withNul)) === withNul && btoa(withNul).length"), 4000);
    assert.equal(await rx.r_eval("try { btoa('x'.repeat(2000) + '€') } catch (e) { e.name }"), "InvalidCharacterError");
    assert.equal(await rx.r_eval("try { atob('QUJD'.repeat(1000) + '*AAA') } catch (e) { e.name }"), "InvalidCharacterError");
    assert.equal(await rx.r_eval("atob(' QUJD\\n'.repeat(1000)).length"), 3000);
    assert.equal(await rx.r_eval("try { btoa('€') } catch (e) { e.name }"), "InvalidCharacterError");
  });

  test(`${mode}: structuredClone of Map, Set, Date, typed arrays and cycles, in the guest's realm`, async () => {
    using rx = new RExec({ worker });
    assert.deepEqual(
      await rx.r_eval(`
        const o = { m: new Map([[1, { a: 1 }]]), s: new Set([2]), d: new Date(5), u: new Uint8Array([1, 2]) };
        o.self = o;
        const c = structuredClone(o);
        [c !== o, c.self === c, c.m.get(1).a, c.m.get(1) !== o.m.get(1), c.s.has(2), c.d.getTime(), Array.from(c.u), c.u.buffer !== o.u.buffer, Object.getPrototypeOf(c) === Object.prototype]`),
      [true, true, 1, true, true, 5, [1, 2], true, true],
    );
    assert.equal(await rx.r_eval("try { structuredClone(() => 1) } catch (e) { e.name }"), "DataCloneError");
  });

  test(`${mode}: AbortController, AbortSignal, Event and EventTarget`, async () => {
    using rx = new RExec({ worker });
    assert.deepEqual(
      await rx.r_eval(`
        const ac = new AbortController(); const seen = [];
        ac.signal.addEventListener('abort', (e) => seen.push(e.type, ac.signal.reason.name));
        ac.signal.onabort = () => seen.push('onabort');
        ac.abort(); ac.abort();
        let thrown; try { ac.signal.throwIfAborted() } catch (e) { thrown = e.name }
        [seen, ac.signal.aborted, thrown, AbortSignal.abort('why').reason, ac.signal instanceof EventTarget]`),
      [["abort", "AbortError", "onabort"], true, "AbortError", "why", true],
    );
    assert.equal(await rx.r_eval("await new Promise((r) => AbortSignal.timeout(5).addEventListener('abort', (e) => r(e.target.reason.name)))"), "TimeoutError");
    assert.equal(await rx.r_eval("const t = new EventTarget(); let n = 0; const f = (e) => { n += e.detail ?? 1 }; t.addEventListener('x', f); t.addEventListener('x', f); t.dispatchEvent(new Event('x')); t.removeEventListener('x', f); t.dispatchEvent(new Event('x')); n"), 1);
    assert.equal(await rx.r_eval("try { new AbortSignal() } catch (e) { e.name }"), "TypeError");
  });

  test(`${mode}: crypto.getRandomValues, randomUUID and subtle.digest`, async () => {
    using rx = new RExec({ worker });
    const [a, b, shape, fill] = (await rx.r_eval(`[
      crypto.randomUUID(), crypto.randomUUID(),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
      (() => { const x = new Uint32Array(64); const r = crypto.getRandomValues(x); return [r === x, new Set(x).size > 60] })(),
    ]`)) as [string, string, boolean, boolean[]];
    assert.notEqual(a, b);
    assert.equal(shape, true);
    assert.deepEqual(fill, [true, true]);
    for (const alg of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) {
      const hex = await rx.r_eval(`crypto.subtle.digest('${alg}', new TextEncoder().encode('abc€')).then((b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join(''))`);
      assert.equal(hex, createHash(alg.replace("-", "").toLowerCase()).update("abc€").digest("hex"), alg);
    }
    // A view into part of a buffer hashes only its own bytes.
    assert.equal(
      await rx.r_eval("const u = new Uint8Array([0, 97, 98, 99, 0]); crypto.subtle.digest({ name: 'sha-256' }, u.subarray(1, 4)).then((b) => b instanceof ArrayBuffer && b.byteLength)"),
      32,
    );
    assert.equal(await rx.r_eval("crypto.subtle.digest('MD5', new Uint8Array(1)).catch((e) => e.name)"), "NotSupportedError");
    assert.equal(await rx.r_eval("crypto.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['encrypt']).catch((e) => e.name + ': ' + e.message)"), "NotSupportedError: crypto.subtle.importKey is not available in this sandbox (only crypto.subtle.digest is)");
  });

  test(`${mode}: Intl and toLocaleString format as Node does, with fixed defaults (en-US, UTC)`, async () => {
    using rx = new RExec({ worker });
    assert.equal(await rx.r_eval("(1234.5).toLocaleString('de-DE')"), (1234.5).toLocaleString("de-DE"));
    assert.equal(await rx.r_eval("(1234.5).toLocaleString()"), "1,234.5");
    assert.equal(await rx.r_eval("12345678901234567890n.toLocaleString('en-IN')"), 12345678901234567890n.toLocaleString("en-IN"));
    assert.equal(
      await rx.r_eval("new Intl.NumberFormat('ja-JP', { style: 'currency', currency: 'JPY' }).format(5000)"),
      new Intl.NumberFormat("ja-JP", { style: "currency", currency: "JPY" }).format(5000),
    );
    assert.deepEqual(await rx.r_eval("new Intl.NumberFormat('en', { style: 'percent' }).formatToParts(0.25).map((p) => p.type)"), ["integer", "percentSign"]);
    assert.equal(await rx.r_eval("new Date(0).toLocaleString()"), "1/1/1970, 12:00:00 AM");
    assert.equal(await rx.r_eval("new Date(NaN).toLocaleDateString()"), "Invalid Date");
    assert.equal(
      await rx.r_eval("new Intl.DateTimeFormat('de-DE', { dateStyle: 'full', timeZone: 'Europe/Berlin' }).format(new Date(86400000 * 365))"),
      new Intl.DateTimeFormat("de-DE", { dateStyle: "full", timeZone: "Europe/Berlin" }).format(new Date(86400000 * 365)),
    );
    assert.deepEqual(await rx.r_eval("const r = new Intl.DateTimeFormat().resolvedOptions(); [r.locale, r.timeZone]"), ["en-US", "UTC"]);
    assert.equal(await rx.r_eval("typeof Intl.Collator"), "undefined");
    assert.deepEqual(await rx.r_eval("[Intl.NumberFormat('de').format(1.5), new Intl.NumberFormat('de') instanceof Intl.NumberFormat, Intl.DateTimeFormat().resolvedOptions().locale, Intl.NumberFormat.name]"), ["1,5", true, "en-US", "NumberFormat"]);
    assert.equal(await rx.r_eval("try { new Intl.NumberFormat('en', { style: 'bogus' }) } catch (e) { e.name }"), "RangeError");
    assert.equal(await rx.r_eval("try { new Intl.DateTimeFormat('en', { timeZone: 'Mars/Base' }) } catch (e) { e.name }"), "RangeError");
  });

  test(`${mode}: Blob from strings, buffers, views and Blobs; slice, text, arrayBuffer`, async () => {
    using rx = new RExec({ worker });
    assert.deepEqual(
      await rx.r_eval(`
        const src = new Uint8Array([0, 98, 0]);
        const blob = new Blob(['a€', src.subarray(1, 2), new Blob(['c']), new Uint8Array([100]).buffer], { type: 'Text/Plain' });
        src[1] = 120; // the Blob holds a copy
        [blob.size, blob.type, await blob.text(), await blob.slice(1, 4).text(), await blob.slice(-2).text(), (await blob.arrayBuffer()).byteLength,
         blob.slice(0, 1, 'x/Y').type, blob instanceof Blob, Object.prototype.toString.call(blob), new Blob().size, new Blob(['x'], { type: 'a\u0100' }).type]`),
      [7, "text/plain", "a€bcd", "€", "cd", 7, "x/y", true, "[object Blob]", 0, ""],
    );
    assert.equal(await rx.r_eval("try { new Blob('abc') } catch (e) { e.name }"), "TypeError");
    assert.equal(await rx.r_eval("const s = 'é'.repeat(5000); (await new Blob([s]).text()) === s"), true);
  });

  test(`${mode}: the global Buffer is require('buffer').Buffer, and require('url').URL is URL`, async () => {
    using rx = new RExec({ worker });
    assert.deepEqual(await rx.r_eval("[Buffer.from('hi').toString('hex'), require('buffer').Buffer === Buffer, require('url').URL === URL, require('url').URLSearchParams === URLSearchParams]"), ["6869", true, true, true]);
  });

  test(`${mode}: nokBuiltinNames removes each new global`, async () => {
    using rx = new RExec({ worker, nokBuiltinNames: ["URL", "crypto", "Intl", "Buffer", "TextEncoder", "structuredClone", "Blob"] });
    assert.deepEqual(
      await rx.r_eval("[typeof URL, 'crypto' in globalThis, typeof Intl, typeof Buffer, typeof TextEncoder, typeof structuredClone, typeof Blob, typeof URLSearchParams, (1234.5).toLocaleString('de-DE')]"),
      ["undefined", false, "undefined", "undefined", "undefined", "undefined", "undefined", "function", "1234.5"],
    );
  });
}

test("lazy globals look like Node's: non-enumerable, present before use, assignable, each loaded once", async () => {
  using rx = new RExec();
  assert.deepEqual(
    await rx.r_eval(`[
      'URL' in globalThis, Object.keys(globalThis).includes('URL'), Object.getOwnPropertyDescriptor(globalThis, 'URL').enumerable,
      typeof URL, Object.getOwnPropertyDescriptor(globalThis, 'URL').writable, URL === URL, TextDecoder === TextDecoder,
    ]`),
    [true, false, false, "function", true, true, true],
  );
  assert.equal(await rx.r_eval("globalThis.atob = 5; atob"), 5);
  assert.equal(await rx.r_eval("Object.freeze(globalThis); typeof crypto.randomUUID"), "function");
});

test("a global the host grants under the same name wins over the built-in one", async () => {
  using rx = new RExec({ globals: { URL: "host url", crypto: { fixed: 4 } } });
  assert.deepEqual(await rx.r_eval("[URL, crypto.fixed, typeof crypto.randomUUID, typeof URLSearchParams]"), ["host url", 4, "undefined", "function"]);
});

test("the global Buffer is absent when the buffer builtin is not allowed", async () => {
  using rx = new RExec({ okBuiltinModules: ["path"] });
  assert.equal(await rx.r_eval("typeof Buffer"), "undefined");
  assert.equal(await rx.r_eval("typeof URL"), "function");
});

test("the real uuid package (v4, v7 and validate) runs on the guest's crypto", async (t) => {
  // A fixture node_modules holding the npm package as published.
  const root = mkdtempSync(join(tmpdir(), "rexec-uuid-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(join(repo, "node_modules", "uuid"), join(root, "node_modules", "uuid"), { recursive: true, dereference: true });
  using rx = new RExec({ hooks: new FileSystemHooks({ root }) });
  await rx.r_exec("const { v4, v7, validate, version } = await import('uuid'); globalThis.ids = [v4(), v4(), v4({}), v7()].map((id) => [id, validate(id), version(id)])");
  const ids = (await rx.r_eval("ids")) as [string, boolean, number][];
  assert.equal(new Set(ids.map(([id]) => id)).size, 4);
  assert.deepEqual(ids.map(([, valid, v]) => [valid, v]), [[true, 4], [true, 4], [true, 4], [true, 7]]);
});

test("hostile: getRandomValues refuses oversized, float and non-typed-array arguments", async () => {
  using rx = new RExec({ limits: { memoryBytes: 256 * 1024 * 1024 } });
  assert.equal(await rx.r_eval("try { crypto.getRandomValues(new Uint8Array(65537)) } catch (e) { e.name }"), "QuotaExceededError");
  assert.equal(await rx.r_eval("crypto.getRandomValues(new Uint8Array(65536)).length"), 65536);
  assert.equal(await rx.r_eval("try { crypto.getRandomValues(new Float64Array(2)) } catch (e) { e.name }"), "TypeMismatchError");
  for (const arg of ["[1, 2, 3]", "new ArrayBuffer(8)", "{ length: 4, buffer: new ArrayBuffer(4) }", "new Proxy(new Uint8Array(4), {})", "null", "'abcd'"]) {
    assert.equal(await rx.r_eval(`try { crypto.getRandomValues(${arg}); 'accepted' } catch (e) { e.name }`), "TypeError", arg);
  }
  // A fake typed array whose prototype says Uint8Array is still refused (brand check, not instanceof).
  assert.equal(await rx.r_eval("try { crypto.getRandomValues(Object.create(Uint8Array.prototype)) } catch (e) { e.name }"), "TypeError");
});

test("hostile: a digest input over the per-call bound is refused before the host copies it", async () => {
  using rx = new RExec({ limits: { memoryBytes: 512 * 1024 * 1024, timeoutMs: 20_000 } });
  const message = await rx.r_eval("crypto.subtle.digest('SHA-256', new Uint8Array(100 * 1024 * 1024)).catch((e) => e.name + ': ' + e.message)");
  assert.match(String(message), /^RangeError: crypto\.subtle\.digest: 104857600 bytes is more than this sandbox hashes in one call/);
  for (const arg of ["'abc'", "[1, 2]", "{ byteLength: 3 }", "null"]) {
    assert.equal(await rx.r_eval(`crypto.subtle.digest('SHA-256', ${arg}).then(() => 'accepted', (e) => e.name)`), "TypeError", arg);
  }
});

test("hostile: a guest that replaces Uint8Array and ArrayBuffer.prototype.slice cannot feed the natives a fake buffer", async () => {
  using rx = new RExec();
  const out = await rx.r_eval(`
    const real = Uint8Array;
    ArrayBuffer.prototype.slice = function () { return { fake: true } };
    globalThis.Uint8Array = function () { return { fake: true } };
    crypto.subtle.digest('SHA-256', new real([97, 98, 99])).then((b) => new real(b)[0])`);
  assert.equal(out, 0xba);
});

test("hostile: locale strings and options are bounded and read once, as primitives", async () => {
  using rx = new RExec({ limits: { memoryBytes: 128 * 1024 * 1024 } });
  assert.equal(await rx.r_eval("try { (1).toLocaleString('a'.repeat(1024 * 1024)) } catch (e) { e.name }"), "RangeError");
  assert.equal(await rx.r_eval("try { (1).toLocaleString(Array(17).fill('en')) } catch (e) { e.name }"), "RangeError");
  assert.equal(await rx.r_eval("try { (1).toLocaleString('en-US\\u0000x') } catch (e) { e.name }"), "RangeError");
  assert.equal(await rx.r_eval("try { (1).toLocaleString('en', { currency: 'x'.repeat(1e6), style: 'currency' }) } catch (e) { e.name }"), "RangeError");
  // A getter runs once, in the guest; what it returns crosses as a string; unknown names never cross.
  assert.deepEqual(
    await rx.r_eval(`
      let reads = 0;
      const options = { get minimumFractionDigits() { reads++; return { toString() { return '2' } } }, evil: { toString() { throw new Error('read') } } };
      [(5).toLocaleString('en', options), reads]`),
    ["5.00", 1],
  );
  await assert.rejects(rx.r_eval("(1).toLocaleString('en', { get style() { throw new Error('from getter') } })"), (e: unknown) => e instanceof GuestError && /from getter/.test(e.message));
  assert.equal(await rx.r_eval("try { (1).toLocaleString('en', { maximumFractionDigits: 1e9 }) } catch (e) { e.name }"), "RangeError");
  assert.equal(await rx.r_eval("try { (10n ** 5000n).toLocaleString() } catch (e) { e.name }"), "RangeError");
  // The sandbox is fine afterwards.
  assert.equal(await rx.r_eval("(1234.5).toLocaleString('fr-FR')"), (1234.5).toLocaleString("fr-FR"));
});

test("hostile: the new globals expose no host function or object", async () => {
  using rx = new RExec();
  assert.deepEqual(
    await rx.r_eval(`
      const escapes = [];
      const things = [URL, URLSearchParams, TextEncoder, TextDecoder, atob, btoa, structuredClone, AbortController, AbortSignal, Event, EventTarget,
        crypto.getRandomValues, crypto.randomUUID, crypto.subtle.digest, Intl.NumberFormat, Intl.DateTimeFormat, Buffer, (1).toLocaleString];
      for (const f of things) {
        try { if (f.constructor('return process.binding')() !== undefined) escapes.push(f.name) } catch {}
        if (f.constructor !== Function) escapes.push(f.name + ' ctor');
      }
      const r = new Intl.NumberFormat('en').resolvedOptions();
      const parts = new Intl.NumberFormat('en').formatToParts(1);
      [escapes, Object.getPrototypeOf(r) === Object.prototype, Object.getPrototypeOf(parts) === Array.prototype, r.constructor.constructor('return typeof process.binding')()]`),
    [[], true, true, "undefined"],
  );
});

test("the pool's runs have the globals too", async () => {
  const pool = new RExecPool({ size: 1 });
  try {
    const { value } = await pool.run("[new URL('/x?y=1', 'https://a.b').searchParams.get('y'), crypto.randomUUID().length, (1234.5).toLocaleString('de-DE'), atob(btoa('ok'))]");
    assert.deepEqual(value, ["1", 36, "1.234,5", "ok"]);
  } finally {
    await pool.close({ force: true });
  }
});

test("hostile: prototype pollution through the new globals stays out (and in the guest)", async () => {
  using rx = new RExec();
  assert.deepEqual(
    await rx.r_eval(`
      const p = new URLSearchParams('__proto__=1&constructor=2&a=3');
      const fromEntries = Object.fromEntries(p);
      const clone = structuredClone(JSON.parse('{"__proto__": {"polluted": 1}}'));
      const nf = new Intl.NumberFormat('en', JSON.parse('{"__proto__": {"style": "percent"}}'));
      [({}).polluted, Object.getPrototypeOf(clone) === Object.prototype, nf.format(0.5), p.get('__proto__'), typeof fromEntries.constructor]`),
    [undefined, true, "0.5", "1", "string"],
  );
  // A guest that poisons its own builtins before a lazy global's first use may
  // break that global for itself (its bundle runs on those builtins): a guest
  // error, the sandbox still usable, other sandboxes untouched.
  const poisoned = new RExec();
  try {
    await poisoned.r_exec("Object.defineProperty = () => { throw new Error('poisoned') }; Array.prototype.push = () => { throw new Error('poisoned') }");
    await assert.rejects(poisoned.r_eval("crypto.randomUUID()"), (e: unknown) => e instanceof GuestError && /poisoned/.test(e.message));
    assert.equal(await poisoned.r_eval("1 + 1"), 2);
    using clean = new RExec();
    assert.equal(await clean.r_eval("crypto.randomUUID().length"), 36);
  } finally {
    poisoned.dispose();
  }
});

test("hostile: resource use of the new globals is bounded by the sandbox's limits", async () => {
  using rx = new RExec({ limits: { timeoutMs: 300, memoryBytes: 32 * 1024 * 1024 } });
  // Hashing in a loop, formatting in a loop, UUIDs in a loop: the CPU budget ends each.
  for (const loop of ["for (;;) await crypto.subtle.digest('SHA-256', new Uint8Array(1 << 20))", "for (;;) (1.5).toLocaleString('de')", "for (;;) crypto.randomUUID()", "for (;;) new URL('https://a.b/' + Math.random())"]) {
    await assert.rejects(rx.r_eval(loop), (e: unknown) => (e as Error).name === "TimeoutError", loop);
  }
  // Large encodes meet the memory limit as a guest error or MemoryLimitError, never a host crash.
  await assert.rejects(rx.r_eval("new TextEncoder().encode('x'.repeat(30 * 1024 * 1024))"), (e: unknown) => ["MemoryLimitError", "GuestError"].includes((e as Error).name));
});

test("classic QuickJS (no DOMException of its own) gets the same globals and a DOMException", async () => {
  using rx = new RExec({ engine: "quickjs" });
  assert.deepEqual(
    await rx.r_eval(`[
      new URL('../a?b=1#c', 'https://x.org/p/q').href, atob(btoa('ok')), new TextDecoder().decode(new TextEncoder().encode('€')),
      crypto.randomUUID().length, (1234.5).toLocaleString('de-DE'), structuredClone(new Map([[1, 2]])).get(1),
      (() => { try { atob('*') } catch (e) { return [e instanceof DOMException, e instanceof Error, e.name, e.code] } })(),
      (() => { const c = new AbortController(); c.abort(); return c.signal.reason.name })(),
    ]`),
    ["https://x.org/a?b=1#c", "ok", "€", 36, "1.234,5", 2, [true, true, "InvalidCharacterError", 5], "AbortError"],
  );
});
