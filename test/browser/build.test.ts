/**
 * The browser build's graph holds no Node built-in, and the browser stand-ins
 * for Node built-ins (src/platform/browser) answer as Node does for what the
 * core asks of them. Runs in Node (no browser needed).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlockList as NodeBlockList, isIP as nodeIsIP } from "node:net";
import { createHash as nodeCreateHash, randomBytes } from "node:crypto";
import { buildSync as realBuildSync, build as realBuild } from "esbuild";
import { BlockList, isIP } from "../../src/platform/browser/net.js";
import { createHash, randomFillSync } from "../../src/platform/browser/crypto.js";
import { Buffer as BrowserBuffer } from "../../src/platform/browser/buffer-class.js";
import { build as scanBuild, buildSync as detectBuildSync } from "../../src/platform/browser/esbuild.js";
// @ts-expect-error — a plain .mjs module without declarations.
import { buildBrowser, PLATFORM_MODULES } from "../../scripts/build-browser.mjs";

type Metafile = { inputs: Record<string, unknown>; outputs: Record<string, { imports: Array<{ path: string }> }> };

describe("browser bundle graph", () => {
  test("no node: built-in and no esbuild package in the graph; every Node built-in the core imports is swapped for its browser module", async () => {
    type Result = { metafile: Metafile; outputFiles: Array<{ path: string; text: string }> };
    const results = (await buildBrowser({ write: false })) as Record<string, Result>;
    const core = results["core"]!;
    const inputs = Object.keys(core.metafile.inputs);
    assert.deepEqual(inputs.filter((p) => p.startsWith("node:") || p.includes("node_modules/esbuild/")), []);
    for (const file of new Set(Object.values(PLATFORM_MODULES as Record<string, string>))) {
      if (file === "esbuild.ts") continue; // reached through esbuild-api.ts once the core loads esbuild lazily
      assert.ok(inputs.includes(`src/platform/browser/${file}`), `src/platform/browser/${file} is in the graph`);
    }
    assert.deepEqual(Object.keys(results).sort(), ["core", "playground", "webWorker"]);
    for (const result of Object.values(results)) {
      assert.deepEqual(Object.keys(result.metafile.inputs).filter((p) => p.startsWith("node:") || p.includes("node_modules/esbuild/")), []);
      for (const [path, out] of Object.entries(result.metafile.outputs)) {
        assert.deepEqual(out.imports.filter((i) => i.path.startsWith("node:")), [], `${path} imports no node: module`);
      }
      for (const file of result.outputFiles.filter((f) => f.path.endsWith(".js"))) {
        assert.doesNotMatch(file.text, /\bfrom\s*"node:|\brequire\("node:|\bimport\("node:/, file.path);
      }
    }
    // The light page-side entry carries neither the engine nor the core.
    const light = Object.keys(results["webWorker"]!.metafile.inputs);
    assert.deepEqual(light.filter((p) => /src\/(engine|loader)\/|src\/boundary\/realm|quickjs|acorn/.test(p)), []);
  });

  test("the build fails, naming it, when a Node built-in without a browser module, or a Node-only package, reaches the graph", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rexec-browser-build-"));
    try {
      const entry = join(dir, "entry.ts");
      writeFileSync(entry, 'import { cpus } from "node:os";\nexport const n = cpus().length;\n');
      await assert.rejects(buildBrowser({ write: false, entries: { x: entry } }), /node:os/);
      const pkg = join(dir, "pkg.ts");
      writeFileSync(pkg, 'import Fastify from "fastify";\nexport const app = Fastify();\n');
      await assert.rejects(buildBrowser({ write: false, entries: { x: pkg } }), /Node-only package fastify/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("browser stand-ins answer as Node does", () => {
  test("net: isIP and the private-range BlockList", () => {
    const addresses = [
      "127.0.0.1", "10.1.2.3", "8.8.8.8", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "", "a.b.c.d", " 1.2.3.4",
      "::1", "::", "fe80::1", "2001:db8::1", "::ffff:10.0.0.1", "1:2:3:4:5:6:7:8", "1::2::3", "1:2:3:4:5:6:7:8:9", "fc00::", "2606:4700::1111",
      "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "gggg::1", "[::1]", "0:0:0:0:0:0:0:1",
    ];
    for (const a of addresses) {
      const mine = isIP(a);
      const node = nodeIsIP(a);
      // Stricter than Node is allowed (refuses more); looser is not.
      assert.ok(mine === node || mine === 0, `isIP(${JSON.stringify(a)}): ${mine} vs Node ${node}`);
    }
    const ranges = [["10.0.0.0", 8, "ipv4"], ["172.16.0.0", 12, "ipv4"], ["169.254.0.0", 16, "ipv4"], ["fc00::", 7, "ipv6"], ["fe80::", 10, "ipv6"], ["::1", 128, "ipv6"]] as const;
    const mine = new BlockList();
    const node = new NodeBlockList();
    for (const [net, bits, family] of ranges) {
      mine.addSubnet(net, bits, family);
      node.addSubnet(net, bits, family);
    }
    for (const [a, family] of [["10.255.0.1", "ipv4"], ["11.0.0.1", "ipv4"], ["172.31.255.255", "ipv4"], ["172.32.0.0", "ipv4"], ["169.254.169.254", "ipv4"], ["fd12::1", "ipv6"], ["fe80::abcd", "ipv6"], ["fec0::1", "ipv6"], ["::1", "ipv6"], ["::2", "ipv6"], ["2001:db8::1", "ipv6"]] as const) {
      assert.equal(mine.check(a, family), node.check(a, family), `check(${a})`);
    }
  });

  test("crypto: createHash (SHA-1/256/384/512; strings as UTF-8; bytes, hex, base64)", () => {
    for (const algorithm of ["sha1", "sha256", "sha384", "sha512"]) {
      const bytes = randomBytes(1000);
      assert.deepEqual(Buffer.from(createHash(algorithm).update(bytes).digest()), nodeCreateHash(algorithm).update(bytes).digest());
      assert.equal(createHash(algorithm).update("é\u{1F600}").update("x").digest("hex"), nodeCreateHash(algorithm).update("é\u{1F600}").update("x").digest("hex"));
      assert.equal(createHash(algorithm).update("").digest("base64"), nodeCreateHash(algorithm).update("").digest("base64"));
    }
  });

  test("crypto: randomFillSync draws every byte from crypto.getRandomValues (the CSPRNG), in chunks it accepts", () => {
    const real = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
    const asked: number[] = [];
    const spy = <T extends ArrayBufferView | null>(view: T): T => {
      asked.push(view!.byteLength);
      if (view!.byteLength > 65536) throw new RangeError("getRandomValues: more than 65536 bytes");
      new Uint8Array(view!.buffer, view!.byteOffset, view!.byteLength).fill(0xa5);
      return view;
    };
    globalThis.crypto.getRandomValues = spy as typeof globalThis.crypto.getRandomValues;
    try {
      const view = randomFillSync(new Uint8Array(150_000));
      assert.deepEqual(asked, [65536, 65536, 150_000 - 131072]);
      assert.ok(view.every((b) => b === 0xa5), "every byte came from getRandomValues");
    } finally {
      globalThis.crypto.getRandomValues = real as typeof globalThis.crypto.getRandomValues;
    }
  });

  test("Buffer: latin1Slice and ucs2Slice as Node's (lone surrogates kept)", () => {
    const bytes = randomBytes(20_001);
    const mine = BrowserBuffer.from(bytes) as unknown as { latin1Slice(s: number, e: number): string; ucs2Slice(s: number, e: number): string };
    const node = bytes as unknown as { latin1Slice(s: number, e: number): string; ucs2Slice(s: number, e: number): string };
    for (const [s, e] of [[0, 20_001], [3, 9000], [1, 2], [5, 5], [7, 20_000]] as const) {
      assert.equal(mine.latin1Slice(s, e), node.latin1Slice(s, e));
      assert.equal(mine.ucs2Slice(s, e), node.ucs2Slice(s, e));
    }
  });

  test("esbuild stand-in: module syntax detection agrees with esbuild", () => {
    const samples = [
      "export const a = 1;", "import x from 'y';", "const m = import.meta.url;", "await Promise.resolve(1);", "module.exports = 1;",
      "const p = import('./x.js');", "var await = 1;", "function f() { return 1 }", "// import x from 'y'\nconst s = 'export';",
      "let x = 1 +;", "<!-- html comment\nvar a = 1;", "const { a } = require('./a');",
    ];
    for (const code of samples) {
      const real = (() => {
        try {
          const r = realBuildSync({ stdin: { contents: code, loader: "js", sourcefile: "d.js" }, write: false, bundle: false, metafile: true, logLevel: "silent" });
          return Object.values(r.metafile!.inputs).some((i) => i.format === "esm");
        } catch {
          return "error";
        }
      })();
      const mine = (() => {
        try {
          return Object.values(detectBuildSync({ stdin: { contents: code, loader: "js", sourcefile: "d.js" } }).metafile.inputs).some((i) => i.format === "esm");
        } catch {
          return "error";
        }
      })();
      // detectModuleSyntax reads a failure as "not ESM" (the engine then reports the syntax error), so compare that.
      assert.equal(mine === true, real === true, code);
    }
  });

  test("esbuild stand-in: the literal import/require specifiers a module names, as esbuild's scan finds them", async () => {
    const code = [
      "import a from './a.js';", "export * from './b.js';", "export { c } from './c.js';", "const d = import('./d.js');",
      "const e = require('./e.cjs');", "require.resolve('./f.js');", "import(`./not-literal-${1}.js`);", "const g = require(name);",
      "function h() { return require('./h.js'); }", "export const x = 1;",
    ].join("\n");
    const scan = async (build: typeof realBuild | typeof scanBuild): Promise<string[]> => {
      const found: string[] = [];
      await (build as typeof realBuild)({
        stdin: { contents: code, loader: "js", sourcefile: "scan" }, bundle: true, write: false, logLevel: "silent",
        plugins: [{ name: "t", setup(b) { b.onResolve({ filter: /.*/ }, (args) => { if (args.kind !== "entry-point") found.push(`${args.kind}:${args.path}`); return { path: args.path, external: true }; }); } }],
      });
      return found.sort();
    };
    assert.deepEqual(await scan(scanBuild), await scan(realBuild));
  });
});
