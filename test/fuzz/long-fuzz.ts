// The long fuzz run: `npm run fuzz` (optionally FUZZ_RUNS=<n> FUZZ_SEED=<n>).
// Not a *.test.ts file, so the CI test runner does not pick it up.
import { hostileGuestValueProperty, hostileTableProperty, roundTripProperty } from "./properties.js";

const runs = Number(process.env.FUZZ_RUNS ?? 20000);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
console.log(`rexec long fuzz: ${runs} runs per property, seed ${seed} (rerun with FUZZ_SEED=${seed})`);
const t0 = performance.now();
hostileTableProperty(runs * 10, seed);
console.log(`  decoder vs hostile tables: ${runs * 10} ok (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
await roundTripProperty(runs, seed);
console.log(`  round trip: ${runs} ok (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
await hostileGuestValueProperty(Math.ceil(runs / 4), seed);
console.log(`  hostile guest values: ${Math.ceil(runs / 4)} ok (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
