// A data-transforming plugin: reads JSON records on stdin (or the sample file
// next to it), normalises them, and prints a CSV report on stdout.
//
//   node bin/rexec.js run examples/plugin/transform.js < examples/plugin/orders.json
//   node bin/rexec.js run examples/plugin/transform.js          # uses orders.json
const fs = require("fs");

async function input() {
  const piped = process.stdin && !process.stdin.isTTY ? await process.stdin.text() : "";
  return piped.trim() !== "" ? piped : fs.readFileSync("./orders.json", "utf8");
}

function normalise(order) {
  return {
    id: String(order.id).padStart(4, "0"),
    customer: order.customer.trim().replace(/\s+/g, " ").toLowerCase(),
    total: order.items.reduce((sum, item) => sum + item.qty * item.price, 0),
  };
}

input().then((text) => {
  const rows = JSON.parse(text).map(normalise).sort((a, b) => b.total - a.total);
  console.log("id,customer,total");
  for (const r of rows) console.log(`${r.id},${r.customer},${r.total.toFixed(2)}`);
  const grand = rows.reduce((s, r) => s + r.total, 0);
  console.error(`${rows.length} orders, ${grand.toFixed(2)} in total`);
});
