// Use 4 — CLI scripts: a script run by the `rexec` command, like `deno run`.
// This file is the guest: it runs with no permissions except those its flags
// grant. It totals the orders in a JSON file, in a currency named by an
// environment variable, and writes the report to a file if asked to.
//
//   node bin/rexec.js run --allow-read=examples/plugin --allow-env=CURRENCY \
//     examples/cli-script.mjs examples/plugin/orders.json
//   CURRENCY=USD node bin/rexec.js run --allow-read=examples/plugin --allow-env=CURRENCY \
//     --allow-write=/tmp/reports examples/cli-script.mjs examples/plugin/orders.json /tmp/reports/total.txt
//   node bin/rexec.js run --memory 16m --timeout 500ms ...   # tighter limits than the defaults
//
// Without --allow-read the script stops at the read: exit code 7 and the message
// "rerun with --allow-read=…" naming the file. Without --allow-env, CURRENCY is
// simply absent (the script falls back to EUR); without --allow-write, the write
// is refused (exit 7). Everything after the script name is the guest's process.argv.
import { readFileSync, writeFileSync } from "fs";

const [input, output] = process.argv.slice(2);
if (!input) {
  console.error("usage: rexec run --allow-read=<dir> cli-script.mjs <orders.json> [report.txt]");
  process.exit(2);
}
const currency = process.env.CURRENCY ?? "EUR";
const orders = JSON.parse(readFileSync(input, "utf8"));
const total = orders.reduce((sum, o) => sum + o.items.reduce((s, i) => s + i.qty * i.price, 0), 0);
const report = `${orders.length} orders, ${total.toFixed(2)} ${currency}`;
console.log(report);
if (output) {
  writeFileSync(output, report + "\n");
  console.log(`written to ${output}`);
}
