/**
 * Prometheus metrics of `rexec serve` (prom-client), in a registry of its own
 * so several servers in one process (tests, an embedding app) do not collide.
 * Label values come from a fixed set (outcome types, refusal reasons), never
 * from guest text.
 *
 * @packageDocumentation
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RunEvent, ServiceRunner } from "./runner.js";

/** The metrics of one server. */
export class ServiceMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  readonly #runs: Counter<"outcome">;
  readonly #errors: Counter<"type">;
  readonly #duration: Histogram<"outcome">;
  readonly #cpu: Counter;
  readonly #cpuPerRun: Histogram;
  readonly #rejected: Counter<"reason">;

  constructor(runner: () => ServiceRunner | undefined, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#runs = new Counter({ name: "rexec_runs_total", help: "Runs finished, by outcome (value or error)", labelNames: ["outcome"], registers });
    this.#errors = new Counter({ name: "rexec_run_errors_total", help: "Runs that ended in an error, by error type (GuestError, TimeoutError, MemoryLimitError, ...)", labelNames: ["type"], registers });
    this.#duration = new Histogram({
      name: "rexec_run_duration_seconds",
      help: "Time from admission to answer of a run (queue wait included)",
      labelNames: ["outcome"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#cpu = new Counter({ name: "rexec_guest_cpu_seconds_total", help: "Guest CPU time of all runs", registers });
    this.#cpuPerRun = new Histogram({ name: "rexec_run_cpu_seconds", help: "Guest CPU time of one run", buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers });
    this.#rejected = new Counter({ name: "rexec_requests_rejected_total", help: "Requests refused before running, by reason", labelNames: ["reason"], registers });
    new Gauge({ name: "rexec_queue_depth", help: "Jobs waiting for a free thread", registers, collect() { this.set(runner()?.queued ?? 0); } });
    new Gauge({ name: "rexec_runs_in_flight", help: "Jobs running now", registers, collect() { this.set(runner()?.running ?? 0); } });
    new Gauge({ name: "rexec_concurrency", help: "Most jobs running at once", registers, collect() { this.set(runner()?.concurrency ?? 0); } });
    new Gauge({ name: "rexec_queue_limit", help: "Most jobs waiting before requests are refused with 429", registers, collect() { this.set(runner()?.queueLimit ?? 0); } });
    new Gauge({ name: "rexec_pools", help: "Thread pools alive (one per distinct set of job limits)", registers, collect() { this.set(runner()?.pools ?? 0); } });
    // Process CPU, memory, event-loop lag, handles: the host side of "CPU".
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "rexec_" });
  }

  /** Count one finished run (the runner's `onRun`). */
  observe(event: RunEvent): void {
    const outcome = event.outcome === "value" ? "value" : "error";
    this.#runs.inc({ outcome });
    if (outcome === "error") this.#errors.inc({ type: event.outcome });
    this.#duration.observe({ outcome }, event.durationMs / 1000);
    this.#cpu.inc(event.cpuMs / 1000);
    this.#cpuPerRun.observe(event.cpuMs / 1000);
  }

  /** Count a request refused before it ran. */
  reject(reason: "invalid" | "unauthorized" | "queue_full" | "pools_busy" | "shutting_down" | "body_too_large"): void {
    this.#rejected.inc({ reason });
  }
}
