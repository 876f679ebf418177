// Child process of soak.test.ts (run with --expose-gc): creates, uses and
// disposes many sandboxes — ordinary ones, ones that throw, and ones that hit
// every limit — and prints memory checkpoints as JSON lines.
import { RExec } from "../../src/index.js";

const total = Number(process.argv[2] ?? 2000);
const checkpoints = 10;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

const shapes = [
  "1 + 2",
  "({ a: [1, 2, { b: 'x'.repeat(1000) }], m: new Map([[1, 2]]) })",
  "throw new TypeError('boom')",
  "for (;;) {}",
  "const a = []; for (;;) a.push('x'.repeat(1e5))",
  "function f() { return f() } f()",
  "exit(3)",
  "for (;;) console.log('flood'.repeat(100))",
  "(async () => { const r = await host(2); return r + 1 })()",
  "JSON.parse('['.repeat(100000) + ']'.repeat(100000))",
  "(function f() { return Promise.resolve().then(f) })()",
  "() => 1",
];

const started = performance.now();
for (let i = 0; i < total; i++) {
  const rx = new RExec({
    limits: { timeoutMs: 15, memoryBytes: 4 * 1024 * 1024, outputBytes: 16 * 1024 },
    globals: { host: async (x: number) => x * 2, data: { list: [1, 2, 3] } },
  });
  try {
    const v = await rx.r_eval(shapes[i % shapes.length]!);
    if (typeof v === "function") await (v as () => Promise<unknown>)();
  } catch {
    // every kind of failure is part of the soak
  }
  try {
    await rx.r_eval("data.list.length");
  } catch {
    // disposed after a native-stack fault: fine
  }
  rx.dispose();
  if ((i + 1) % Math.floor(total / checkpoints) === 0) {
    for (let k = 0; k < 3; k++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    const m = process.memoryUsage();
    console.log(JSON.stringify({ i: i + 1, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, ms: Math.round(performance.now() - started) }));
  }
}
