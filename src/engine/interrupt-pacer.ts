/**
 * Paces QuickJS's interrupt polls by writing the engine's poll counter.
 *
 * Invariant protected: a guest cannot run for long past its deadline between
 * two calls of the interrupt handler *because native calls are slow*.
 * QuickJS decrements `JSContext.interrupt_counter` at each backward jump and
 * each function call, and calls the handler only when it reaches zero, after
 * which it resets it to `JS_INTERRUPT_COUNTER_INIT` (10000) and only then calls
 * the handler (quickjs.c, `__js_poll_interrupts`, in both builds). Polls are
 * cheap bytecode events, but a native call between two of them can take
 * seconds, so 10000 polls can be hours. This class, from inside the handler,
 * overwrites the freshly reset counter:
 *
 * - **Rate pacing**: when the last interval between handler calls was longer
 *   than {@link TARGET_MS}, the next interval gets proportionally fewer polls
 *   (down to 1); when it was short, twice as many (up to 10000). Tight bytecode
 *   keeps the engine's own rate; a loop around long natives is polled at every
 *   iteration once one long interval has been seen.
 * - **{@link InterruptPacer.pollSoon}**: after a guarded native that may have
 *   run long, the counter is set to 1 so the very next poll calls the handler.
 *
 * The counter's address is the context pointer plus a per-build offset,
 * measured (by searching the context for the reset value during handler
 * calls) and **verified by observation** at the first engine start of each
 * build in the process: inside the handler the word must hold 10000, and
 * writing a small value must make the handler come correspondingly sooner
 * (a 20000-iteration probe loop, 1-7 ms on a loaded 2-core machine). Later
 * instances of the same build write nothing until their own word has shown
 * the reset value inside a handler call. On any mismatch the pacer stays off
 * and never writes to engine memory: the engine's own pacing remains, and
 * guards fall back to spinning in bytecode (see native-guards.js).
 *
 * @packageDocumentation
 */
import type { EngineVariantName } from "./wasm-variant.js";

/** `JS_INTERRUPT_COUNTER_INIT` in quickjs.c (both builds). */
const COUNTER_INIT = 10000;

/**
 * Byte offset of `interrupt_counter` in `struct JSContext`, wasm32 builds of
 * quickjs-emscripten 0.32.0: QuickJS-ng 0.12.1 and classic QuickJS 2025-09-13.
 */
const COUNTER_OFFSETS: Readonly<Record<EngineVariantName, number>> = { "quickjs-ng": 288, quickjs: 232 };

/** Aim: about one handler call per this many milliseconds of guest time, at most. */
const TARGET_MS = 1;

/** The counter value written during verification, and the loop length that probes it. */
const PROBE_COUNTER = 500;
const PROBE_ITERATIONS = 20000;

/** Builds whose counter address was verified by observation in this process. */
const verifiedBuilds = new Set<EngineVariantName>();

export class InterruptPacer {
  private enabled = false;
  /** Verified build, this instance not yet seen at a reset (see {@link adopt}). */
  private armed = false;
  private buffer: ArrayBuffer | undefined;
  private view: Int32Array | undefined;
  private readonly index: number;
  private current = COUNTER_INIT;
  private last = performance.now();

  constructor(
    private readonly memory: WebAssembly.Memory,
    contextPointer: number,
    private readonly variant: EngineVariantName,
  ) {
    const address = contextPointer + COUNTER_OFFSETS[variant];
    this.index = address % 4 === 0 ? address / 4 : -1;
  }

  /** True when the counter was verified and is being paced. */
  get active(): boolean {
    return this.enabled;
  }

  private words(): Int32Array {
    const buffer = this.memory.buffer as ArrayBuffer;
    if (buffer !== this.buffer || !this.view) {
      this.buffer = buffer;
      this.view = new Int32Array(buffer);
    }
    return this.view;
  }

  private read(): number {
    return this.words()[this.index]!;
  }

  private write(value: number): void {
    this.words()[this.index] = value;
  }

  /**
   * Verify the counter's address by observation. `install(handler)` sets the
   * runtime's interrupt handler; `runLoop(n)` evaluates a plain loop of `n`
   * iterations (one backward jump each). Leaves the pacer enabled only if both
   * checks hold; the caller installs its real handler afterwards.
   */
  verify(install: (handler: () => boolean) => void, runLoop: (iterations: number) => void, trust: "pinned" | "process" | "none" = "process"): boolean {
    // The layout is the build's: once verified in this process — or when the
    // binary is one whose layout the test suite verifies by observation
    // (engine-image.ts pins builds by SHA-256; test/engine/pinned-builds.test.ts)
    // — a new instance only has to show the reset value at its first handler
    // call (see afterPoll). Observing costs a 20,000-iteration loop in a cold
    // engine, ~10–30 ms of a CLI command's start-up.
    // `trust: "none"` always observes (the test of the pinned builds).
    const known = trust === "pinned" || (trust === "process" && verifiedBuilds.has(this.variant));
    if (known && this.index >= 0 && (this.index + 1) * 4 <= this.memory.buffer.byteLength) {
      this.armed = true;
      return true;
    }
    if (this.index < 0 || (this.index + 1) * 4 > this.memory.buffer.byteLength) return false;
    let calls = 0;
    let sawInit = true;
    install(() => {
      calls++;
      if (this.read() !== COUNTER_INIT) sawInit = false;
      else this.write(PROBE_COUNTER);
      return false;
    });
    try {
      // The first handler call comes after up to 10000 polls, later ones every PROBE_COUNTER.
      runLoop(PROBE_ITERATIONS);
    } catch {
      return false;
    }
    // One to two polls per iteration (QuickJS-ng: two): without the writes there
    // would be 2-4 handler calls; with them, hundreds.
    const fewest = (PROBE_ITERATIONS - COUNTER_INIT) / PROBE_COUNTER / 2;
    const most = (PROBE_ITERATIONS * 2) / PROBE_COUNTER + 2;
    this.enabled = sawInit && calls >= fewest && calls <= most;
    if (this.enabled) {
      this.write(COUNTER_INIT);
      verifiedBuilds.add(this.variant);
    }
    this.current = COUNTER_INIT;
    this.last = performance.now();
    return this.enabled;
  }

  /** Call inside the interrupt handler when it does not interrupt: pace the next interval. */
  afterPoll(): void {
    if (this.armed && this.index * 4 < this.memory.buffer.byteLength && this.read() === COUNTER_INIT) {
      // This instance's word holds the reset value inside the handler: it is the counter.
      this.armed = false;
      this.enabled = true;
    }
    if (!this.enabled) return;
    const now = performance.now();
    const gap = now - this.last;
    this.last = now;
    const next = gap > TARGET_MS ? Math.max(1, Math.floor((this.current * TARGET_MS) / gap)) : Math.min(COUNTER_INIT, this.current * 2);
    this.current = next;
    this.write(next);
  }

  /** Make the engine's next poll call the handler. False when the pacer is disabled. */
  pollSoon(): boolean {
    if (!this.enabled) return false;
    this.write(1);
    return true;
  }

  /** Stop touching engine memory (the engine is being dropped). */
  disable(): void {
    this.enabled = false;
    this.armed = false;
    this.buffer = undefined;
    this.view = undefined;
  }
}
