// A stand-in for the Python worker in host-exchange.test.ts: asks through the exchange in a
// tight loop (no gap between calls, harsher than any interpreter) for workerData.ms.
import { parentPort, workerData } from "node:worker_threads";
import { askThroughExchange } from "../../src/python/host-exchange.js";

const { shared, ms } = workerData as { shared: SharedArrayBuffer; ms: number };
const request = new TextEncoder().encode('{"op":"call","args":[]}');
let calls = 0;
const until = performance.now() + ms;
while (performance.now() < until) {
  askThroughExchange(shared, request, 0);
  calls++;
}
parentPort!.postMessage(calls);
