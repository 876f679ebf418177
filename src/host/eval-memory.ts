/**
 * What r_eval/r_exec code ran under which file name, so a guest error can be
 * reported against the text the host gave: frames of rewritten code
 * (TypeScript, the top-level-await wrapper) mapped back to their lines, and a
 * QuickJS-ng TypeError given the position and the "(reading …)" the engine
 * does not record (error-enrich.ts).
 *
 * Invariants: only host-held copies are read — mapping an error never runs
 * guest code; the memory is bounded (at most {@link EVAL_SOURCE_CHARS}
 * characters of code and {@link EVAL_SOURCE_NAMES} names); and a frame is
 * described from a source only when that source is certainly what the engine
 * compiled for it (after other code ran under the same name, a function's
 * frame may come from either, so it is left as the engine reported it).
 *
 * @packageDocumentation
 */
import { formatGuestStack } from "../boundary/guest-stack.js";
import { enrichEngineError, hasGuestTopFrame, type EnrichedErrorSite } from "./error-enrich.js";
import { GuestError, type GuestFrame } from "./errors.js";
import type { PreparedEval } from "./eval-source.js";
import type { ModuleHost } from "./module-host.js";

/** Characters of r_eval/r_exec code kept for error reports (about 4 MB of host memory). */
const EVAL_SOURCE_CHARS = 2 * 1024 * 1024;
/** File names whose r_eval/r_exec history is kept for error reports. */
const EVAL_SOURCE_NAMES = 256;

/** One sandbox's memory of its eval code. */
export class EvalMemory {
  /** The code of the latest r_eval/r_exec per file name (see rememberSource). */
  private readonly evalSources = new Map<string, { code: string | undefined; serial: number; only: boolean }>();
  private evalSourceChars = 0;
  /** A name was dropped from evalSources: a name not in it may have run other code before. */
  private evalSourcesForgotten = false;
  /** Position maps of rewritten eval code per file name (see rememberMap). */
  private readonly evalMaps = new Map<string, { map: NonNullable<PreparedEval["mapPosition"]>; serial: number }>();

  /**
   * @param modules - the sandbox's module host, once it has one (modules compiled under a name win over older eval code)
   * @param enriches - whether TypeErrors are described (QuickJS-ng; classic QuickJS records positions itself)
   */
  constructor(
    private readonly modules: () => ModuleHost | undefined,
    private readonly enriches: () => boolean,
  ) {}

  /** Remember `code` (and its position map, if it was rewritten) as what the engine compiles under `filename` now. */
  remember(filename: string, code: string, map: PreparedEval["mapPosition"]): void {
    this.rememberSource(filename, code);
    this.rememberMap(filename, map);
  }

  /**
   * Keep the way from the engine's positions back to the host's text for the
   * latest code run under `filename` (TypeScript, top-level-await rewrite);
   * bounded like {@link rememberSource}.
   */
  private rememberMap(filename: string, map: PreparedEval["mapPosition"]): void {
    this.evalMaps.delete(filename);
    if (!map) return;
    this.evalMaps.set(filename, { map, serial: this.modules()?.compileSerial ?? 0 });
    if (this.evalMaps.size > EVAL_SOURCE_NAMES) this.evalMaps.delete(this.evalMaps.keys().next().value!);
  }

  /** A frame of eval code mapped back to the host's text, if that code was rewritten. */
  private mapEvalFrame(fileName: string, line: number, column: number): { line: number; column: number } | undefined {
    const entry = this.evalMaps.get(fileName);
    if (!entry) return undefined;
    // A module of the same name compiled since then is what the frame names.
    const module = this.modules()?.compiledSource(fileName);
    if (module && module.serial > entry.serial) return undefined;
    return entry.map(line, column);
  }

  /**
   * Improve a GuestError for the host: a QuickJS-ng TypeError names what failed
   * and points at where it failed (see error-enrich.ts; the engine records no
   * position at property accesses), then TypeScript frames point at the .ts
   * file's own lines. Reads only host-held copies: never runs guest code.
   */
  mapError(error: unknown): unknown {
    if (!(error instanceof GuestError) || !this.modules()) return error;
    const enriched = this.enrichedTop(error);
    let changed = enriched !== undefined;
    const frames = error.frames.map((original, i) => {
      // The enriched position is in the compiled text's coordinates, like the engine's: map it as any frame.
      const frame = i === 0 && enriched ? { ...original, line: enriched.line, column: enriched.column } : original;
      const mapped = this.mapEvalFrame(frame.fileName, frame.line, frame.column) ?? this.modules()!.mapFrame(frame.fileName, frame.line, frame.column);
      if (!mapped) return frame;
      changed = true;
      return { ...frame, line: mapped.line, column: mapped.column };
    });
    if (!changed) return error;
    return new GuestError(error.guestName, enriched?.message ?? error.message, formatGuestStack(frames), frames, error.thrown);
  }

  /** The better message and top-frame position of a QuickJS-ng TypeError thrown in guest code, if any. */
  private enrichedTop(error: GuestError): EnrichedErrorSite | undefined {
    const top = error.frames[0];
    // Classic QuickJS records these positions itself; a native or rexec-internal top frame is not the failed access or call.
    if (error.guestName !== "TypeError" || !top || !this.enrichesErrors() || !hasGuestTopFrame(error)) return undefined;
    try {
      const source = this.compiledSourceOf(top);
      return source === undefined ? undefined : enrichEngineError({ message: error.message, line: top.line, column: top.column }, source);
    } catch {
      return undefined; // a better message is optional; the engine's report stands
    }
  }

  private enrichesErrors(): boolean {
    return this.enriches();
  }

  /**
   * Exactly the text the engine compiled for a frame's file: a module's, or the
   * r_eval/r_exec code last run under that name — for a function frame only
   * when no other code ever ran under that name (it may come from an earlier
   * call), for the top-level `<eval>` frame always (that is the running call).
   */
  private compiledSourceOf(frame: GuestFrame): string | undefined {
    const module = this.modules()?.compiledSource(frame.fileName);
    const evaluated = this.evalSources.get(frame.fileName);
    if (module && (!evaluated || module.serial > evaluated.serial)) return module.source;
    if (evaluated?.code === undefined) return undefined;
    return frame.functionName === "<eval>" || evaluated.only ? evaluated.code : undefined;
  }

  /**
   * Remember `code` as what the engine compiles under `filename` now (called as
   * the call starts running, not when it is queued). Bounded: one entry per
   * name, code kept for at most {@link EVAL_SOURCE_CHARS} characters in all
   * (oldest dropped first) and at most {@link EVAL_SOURCE_NAMES} names.
   */
  private rememberSource(filename: string, code: string): void {
    // "<input>" is the engine's own name for code the guest evaluates itself: never ours to describe.
    if (!this.enrichesErrors() || filename === "<input>") return;
    const old = this.evalSources.get(filename);
    if (old) {
      this.evalSources.delete(filename);
      this.evalSourceChars -= old.code?.length ?? 0;
    }
    const only = old ? old.only && old.code === code : !this.evalSourcesForgotten;
    const kept = code.length <= EVAL_SOURCE_CHARS ? code : undefined;
    this.evalSources.set(filename, { code: kept, serial: this.modules()?.compileSerial ?? 0, only });
    this.evalSourceChars += kept?.length ?? 0;
    // Map order is oldest first; the newest entry fits by itself, so the loop stops before it.
    for (const [name, entry] of this.evalSources) {
      if (this.evalSourceChars <= EVAL_SOURCE_CHARS && this.evalSources.size <= EVAL_SOURCE_NAMES) break;
      this.evalSourceChars -= entry.code?.length ?? 0;
      entry.code = undefined; // its name stays known: a later call under it is not taken for the only one
      if (this.evalSources.size > EVAL_SOURCE_NAMES) {
        this.evalSources.delete(name);
        this.evalSourcesForgotten = true;
      }
    }
  }
}
