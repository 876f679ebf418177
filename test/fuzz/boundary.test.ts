// Short property-based fuzz run for CI; the long run is `npm run fuzz` (long-fuzz.ts).
import { test } from "node:test";
import { hostileGuestValueProperty, hostileTableProperty, roundTripProperty } from "./properties.js";

test("fuzz: arbitrary values round-trip host → guest → host exactly (or a clear CloneError)", async () => {
  await roundTripProperty(300);
});

test("fuzz: the same round trip through a worker-mode sandbox and through a pool run's input", async () => {
  await roundTripProperty(100, undefined, "worker");
  await roundTripProperty(100, undefined, "pool");
});

test("fuzz: arbitrary hostile JSON / node tables never crash, pollute or hang the host decoder", () => {
  hostileTableProperty(5000);
});

test("fuzz: arbitrary hostile guest values end in a value or a typed rexec error", async () => {
  await hostileGuestValueProperty(200);
});
