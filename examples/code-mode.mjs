// Use 3 — "code mode" for a language model: instead of calling tools one JSON
// message at a time, the model writes a short program that calls them.
//
// Shows: model-written code run in an RExecPool (stateless runs on worker
// threads; the host's event loop never waits on guest code), the tools as host
// functions the code awaits, the user's data passed as `input` (a copy, not
// pasted into the code), deterministic mode (same seed and clock → same bytes:
// replayable and auditable), an AbortSignal bounding each run, a typed result
// (JSDoc here; `pool.run<T>()` in TypeScript — nothing is checked at run time,
// so the host validates the shape), and a runaway program cancelled without
// harm to the host.
//
//   node scripts/build.mjs && node examples/code-mode.mjs
import { RExecPool, AbortError, GuestError, RExecError } from "../dist/index.js";

// The tools the model may use. They run in the host, with the host's checks.
const forecasts = { Paris: 14, Oslo: -3, Lima: 22 };
const tools = {
  getTemperature: async (city) => {
    if (!(city in forecasts)) throw new Error(`no forecast for ${String(city).slice(0, 40)}`);
    return forecasts[city];
  },
};

/** @typedef {{ warmest: string, cities: { city: string, tempC: number, id: string }[], at: string }} Report */

// What a model wrote for "which of the user's cities is warmest?".
const modelCode = `
  const cities = [];
  for (const city of input.cities) {
    cities.push({ city, tempC: await getTemperature(city), id: crypto.randomUUID().slice(0, 8) });
  }
  cities.sort((a, b) => b.tempC - a.tempC);
  const report = { warmest: cities[0].city, cities, at: new Date().toISOString() };
  report; // the completion value is the run's result, as in a REPL
`;

const pool = new RExecPool({
  size: 1,
  globals: tools,
  deterministic: { seed: 7, now: Date.UTC(2025, 0, 1) }, // Math.random, crypto, Date: reproducible
  limits: { memoryBytes: 32 << 20, timeoutMs: 2000 },
});

try {
  const run = async () => {
    /** @type {import("../dist/index.js").PoolRunResult<Report>} */
    const { value } = await pool.run(modelCode, { input: { cities: ["Oslo", "Lima", "Paris"] }, signal: AbortSignal.timeout(5000) });
    if (typeof value?.warmest !== "string" || !Array.isArray(value.cities)) throw new TypeError("the model's code returned something else");
    return value;
  };
  const first = await run();
  const second = await run();
  console.log(`warmest: ${first.warmest}`);
  for (const c of first.cities) console.log(`  ${c.city.padEnd(6)} ${String(c.tempC).padStart(3)} °C  ${c.id}`);
  console.log(`at: ${first.at}`);
  console.log(`replay identical: ${JSON.stringify(first) === JSON.stringify(second)}`);

  // A tool error reaches the model's code as an ordinary exception, and the host as a GuestError.
  try {
    await pool.run("await getTemperature('Atlantis')", { signal: AbortSignal.timeout(5000) });
  } catch (error) {
    if (!(error instanceof GuestError)) throw error;
    console.log(`tool error: ${error.guestName}: ${error.message}`);
  }

  // A program that never ends is cancelled by its signal; the pool replaces the thread.
  try {
    await pool.run("for (;;) {}", { signal: AbortSignal.timeout(300) });
  } catch (error) {
    if (!(error instanceof AbortError)) throw error;
    console.log(`runaway program: ${error.name} (${error.code})`);
  }
  const { value } = await pool.run("input * 2", { input: 21 });
  console.log(`pool still serving: ${value}`);
} catch (error) {
  if (error instanceof RExecError) console.error(`${error.name}: ${error.message}`);
  throw error;
} finally {
  await pool.close();
}
