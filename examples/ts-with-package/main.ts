// A TypeScript script that imports an npm package installed under its own root
// (node_modules/tiny-stats, resolved through its package.json "exports").
//
//   node bin/rexec.js run examples/ts-with-package/main.ts 3 1 4 1 5 9 2 6
import { mean, median, summary, type Summary } from "tiny-stats";

const input: number[] = process.argv.slice(2).map(Number).filter((n) => !Number.isNaN(n));
const data = input.length ? input : [3, 1, 4, 1, 5, 9, 2, 6];

const s: Summary = summary(data);
console.log(`n=${s.count} min=${s.min} max=${s.max}`);
console.log(`mean=${mean(data).toFixed(3)} median=${median(data)}`);
