/**
 * One instance of the QuickJS wasm module with its own memory, driven through
 * the build's raw ffi (no quickjs-emscripten-core classes on the hot paths).
 *
 * Invariants protected:
 * - Every instance has its own `WebAssembly.Memory` whose `maximum` is the
 *   sandbox's hard memory cap: no allocation pattern can grow past it.
 * - The C side reaches the host only through the five callbacks of the
 *   emscripten glue (`Module.callbacks`). They go to the instance's current
 *   {@link InstanceTenant}, and to nothing when there is none: an instance
 *   that is being recycled or has been dropped calls no host code.
 * - The stack pointer (the only engine state outside linear memory, see
 *   ENGINE-FACTS §7) is exported by the patched binary, so a realm image can
 *   be restored exactly (realm images, engine-image.ts).
 *
 * @packageDocumentation
 */
import type { QuickJSFFI } from "@jitl/quickjs-ng-wasmfile-release-sync/ffi";
import { baseVariant, compiledModule, engineBinaryFacts, ENGINE_VARIANT, moduleCompiled, precompileModule, type EngineVariantName } from "../wasm-variant.js";
import { utcInstantiateWasm } from "../utc-time.js";
import { HeapGrowthWatch } from "../heap-growth.js";
import { STACK_POINTER_EXPORT, TABLE_EXPORT } from "../wasm-table-export.js";
import type { RecorderCache, WasmTable } from "../rejection-tracker.js";

/** The emscripten module object of one instance (the members rexec uses). */
export interface EmscriptenModule {
  callbacks: unknown;
  _malloc(bytes: number): number;
  _free(address: number): void;
  lengthBytesUTF8(text: string): number;
  stringToUTF8(text: string, address: number, maxBytes: number): void;
  UTF8ToString(address: number, maxBytes?: number): string;
  /** The raw exports, `_QTS_*` functions called without cwrap's conversions. */
  readonly [name: `_QTS_${string}`]: (...args: number[]) => number;
}

/** What the C side calls on the host (see the invariant above). */
export interface InstanceTenant {
  callFunction(ctx: number, thisPtr: number, argc: number, argv: number, id: number): number;
  shouldInterrupt(rt: number): boolean;
  loadModuleSource(rt: number, ctx: number, name: string): number;
  normalizeModule(rt: number, ctx: number, base: string, name: string): number;
  freeHostRef(rt: number, id: number): void;
}

interface WasmGlobal {
  value: number;
}

type ModuleFactory = (arg: Record<string, unknown>) => Promise<EmscriptenModule>;
type FFIClass = new (module: EmscriptenModule) => QuickJSFFI;

const loaded = new Map<EngineVariantName, Promise<{ factory: ModuleFactory; FFI: FFIClass }>>();

function unwrapDefault<T>(value: unknown): T {
  let v = value as { default?: unknown };
  while (v && typeof v === "object" && "default" in v && v.default) v = v.default as { default?: unknown };
  return v as T;
}

/** The glue's module factory and the ffi class of `variant` (imported once). */
function glue(variant: EngineVariantName): Promise<{ factory: ModuleFactory; FFI: FFIClass }> {
  let p = loaded.get(variant);
  if (!p) {
    const base = baseVariant(variant) as unknown as { importModuleLoader(): Promise<unknown>; importFFI(): Promise<unknown> };
    p = Promise.all([base.importModuleLoader(), base.importFFI()]).then(([loader, ffi]) => ({ factory: unwrapDefault<ModuleFactory>(loader), FFI: unwrapDefault<FFIClass>(ffi) }));
    loaded.set(variant, p);
  }
  return p;
}

/**
 * Start what the first instance of `variant` will wait for — the module's
 * compilation (off the main thread) and the glue's import — so that a process
 * that knows it will need an engine (the CLI) overlaps them with loading the
 * rest of its code. Failures are left for {@link EngineInstance.create} to report.
 */
export function prepareEngine(variant: EngineVariantName = ENGINE_VARIANT): void {
  precompileModule(variant);
  glue(variant).catch(() => loaded.delete(variant));
}

/** One wasm instance (see the file's invariants). */
export class EngineInstance {
  /** Who the C side's callbacks go to now. */
  tenant: InstanceTenant | undefined;
  /** How many tenants this instance has had (1 for the first). */
  generation = 0;
  /** Set once the instance may be corrupt: it is never used again. */
  broken = false;
  /** The image this instance holds untouched since it was restored (no tenant ran since), if any. */
  pristineFor: object | undefined;
  /** The rejection recorder this instance keeps across tenants (rejection-tracker.ts). */
  readonly recorderCache: RecorderCache = {};
  /** The largest stack limit any tenant had: how deep the C stack may be dirty (engine-image.ts). */
  largestStackBytes = 256 * 1024;

  private constructor(
    readonly variant: EngineVariantName,
    readonly memory: WebAssembly.Memory,
    readonly em: EmscriptenModule,
    readonly ffi: QuickJSFFI,
    readonly table: WasmTable | undefined,
    private readonly stackPointer: WasmGlobal | undefined,
    readonly growth: HeapGrowthWatch,
    readonly maximumPages: number,
    readonly initialPages: number,
  ) {}

  /** A new instance with a memory of `initialPages`, growable to `maximumPages`. */
  static async create(variant: EngineVariantName, initialPages: number, maximumPages: number, log: (line: string) => void): Promise<EngineInstance> {
    const [{ factory, FFI }] = await Promise.all([glue(variant), moduleCompiled(variant)]);
    const memory = new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages });
    const growth = new HeapGrowthWatch();
    let exports: Record<string, unknown> | undefined;
    const instantiate = utcInstantiateWasm(compiledModule(variant), memory, growth.wrap);
    let instance: EngineInstance | undefined;
    const route = (): InstanceTenant | undefined => (instance && !instance.broken ? instance.tenant : undefined);
    const em = await factory({
      wasmMemory: memory,
      // Emscripten prints aborts to the console by default; route them instead.
      print: (line: string) => log(line),
      printErr: (line: string) => log(line),
      instantiateWasm: (imports: never, ok: never) => (exports = instantiate(imports, ok)),
    });
    // The C side's only ways to the host. An unowned instance answers
    // "nothing" (0, or interrupt) and calls no host code.
    em.callbacks = {
      callFunction: (_a: unknown, ctx: number, thisPtr: number, argc: number, argv: number, id: number) => route()?.callFunction(ctx, thisPtr, argc, argv, id) ?? 0,
      shouldInterrupt: (_a: unknown, rt: number) => {
        const tenant = route();
        return tenant ? (tenant.shouldInterrupt(rt) ? 1 : 0) : 1;
      },
      loadModuleSource: (_a: unknown, rt: number, ctx: number, name: string) => route()?.loadModuleSource(rt, ctx, name) ?? 0,
      normalizeModule: (_a: unknown, rt: number, ctx: number, base: string, name: string) => route()?.normalizeModule(rt, ctx, base, name) ?? 0,
      freeHostRef: (_a: unknown, rt: number, id: number) => route()?.freeHostRef(rt, id),
    };
    const table = exports?.[TABLE_EXPORT] as WasmTable | undefined;
    const sp = exports?.[STACK_POINTER_EXPORT] as WasmGlobal | undefined;
    instance = new EngineInstance(variant, memory, em, new FFI(em), typeof table?.grow === "function" ? table : undefined, sp, growth, maximumPages, initialPages);
    const facts = engineBinaryFacts(variant);
    if (sp && facts.stackTop !== undefined && sp.value !== facts.stackTop) {
      throw new Error(`rexec: the engine's stack pointer starts at ${sp.value}, not at ${facts.stackTop} as its binary says; refusing to run this build`);
    }
    return instance;
  }

  /** The stack pointer, when the binary exports it (undefined otherwise). */
  get stackPointerValue(): number | undefined {
    return this.stackPointer?.value;
  }

  set stackPointerValue(value: number | undefined) {
    if (this.stackPointer && value !== undefined) this.stackPointer.value = value;
  }

  /** True when realm images can be captured and restored on this instance. */
  get imageable(): boolean {
    return this.stackPointer !== undefined;
  }

  /** Bytes of linear memory now. */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }
}
