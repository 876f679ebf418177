// Use 2 — plugins: third-party code extending a host application.
//
// Shows: plugins loaded as modules through a hooks object (MemoryHooks here;
// `new FileSystemHooks({ root: "/srv/app" })` serves the same tree from disk —
// /srv/app/plugins/invoice/index.js is the guest's /plugins/invoice/index.js —
// with nothing outside the root reachable), the capabilities the host
// grants as host functions (`getOrder`, `audit`), policy set by subclassing
// (`static okBuiltinModules`: the only builtin modules a plugin may import),
// calling a plugin's exported functions from the host (arguments and results
// are copies), and a plugin that asks for more than it was granted
// (RestrictedError, naming what was denied and how a host could allow it).
//
//   node scripts/build.mjs && node examples/plugins.mjs
import { RExec, MemoryHooks, RestrictedError, GuestError } from "../dist/index.js";

/** Policy for every plugin sandbox: `path` and `util` only — no `fs`, no network. */
class PluginSandbox extends RExec {
  static okBuiltinModules = ["path", "util"];
}

// The plugin files, as a plugin author would ship them.
const hooks = new MemoryHooks({
  files: {
    "/plugins/invoice/index.js": `
      const path = require("path");
      const { format } = require("./money.js");
      exports.name = "invoice";
      exports.render = async (orderId) => {
        const order = await getOrder(orderId); // a host function, granted below
        audit("rendered invoice " + orderId);
        const lines = order.items.map((i) => i.sku.padEnd(8) + format(i.qty * i.price));
        return { file: path.join("invoices", orderId + ".txt"), text: lines.join("\\n") };
      };
    `,
    "/plugins/invoice/money.js": `exports.format = (n) => n.toFixed(2).padStart(8);`,
    "/plugins/greedy/index.js": `
      const fs = require("fs"); // not granted to plugins
      exports.run = () => fs.readFileSync("/etc/passwd", "utf8");
    `,
  },
});

// What the host grants: data access through functions it controls.
const orders = { A7: { items: [{ sku: "pen", qty: 3, price: 1.5 }, { sku: "ink", qty: 1, price: 12 }] } };
const auditLog = [];
const rx = new PluginSandbox({
  hooks,
  globals: {
    getOrder: async (id) => orders[id] ?? null, // the guest awaits it; it gets a copy
    audit: (line) => void auditLog.push(String(line).slice(0, 200)),
  },
  limits: { timeoutMs: 200 },
});

try {
  const invoice = await rx.r_import("./plugins/invoice/index.js");
  console.log(`plugin: ${invoice.name}`);
  const result = await invoice.render("A7"); // guest function → async host function
  console.log(`file: ${result.file}`);
  console.log(result.text);
  console.log(`audit: ${auditLog.join("; ")}`);

  try {
    await rx.r_import("./plugins/greedy/index.js");
  } catch (error) {
    if (!(error instanceof RestrictedError)) throw error;
    console.log(`greedy plugin refused: ${error.denied} (to allow: ${error.allowWith})`);
  }

  // The sandbox is still usable after a refusal, and a plugin only ever holds copies:
  // changing the order it was given leaves the host's order as it was.
  const seen = await rx.r_eval("(async () => { const o = await getOrder('A7'); o.items[0].price = 0; return o.items[0].price; })()");
  console.log(`price in the plugin: ${seen}, in the host: ${orders.A7.items[0].price}`);
} catch (error) {
  if (error instanceof GuestError) console.error(`plugin failed: ${error.guestName}: ${error.message}\n${error.guestStack}`);
  throw error;
} finally {
  rx.dispose();
}
