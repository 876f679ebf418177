/**
 * The playground page: a CodeMirror editor for guest code (JavaScript or
 * TypeScript: the language picker sets the editor's mode and the run's
 * filename, playground.js or playground.ts), globals and host
 * functions, limit controls, and panels for the result, the error (with its
 * code frame), the output and the run's stats. Every run happens in a
 * WebWorkerRExec, so a runaway guest never freezes this page — the ticker in
 * the header keeps counting while a guest spins.
 *
 * Built by scripts/build-browser.mjs into dist/playground/app.js. Not part of
 * the type-checked sources (no DOM lib in the project's tsconfig).
 */
import { EditorView, basicSetup } from "codemirror";
import { Compartment } from "@codemirror/state";
import { javascript } from "@codemirror/lang-javascript";
import { WebWorkerRExec } from "../src/browser/web-worker-rexec.js";
import { show } from "./show.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

type Language = "js" | "ts";

const EXAMPLES: Record<string, string> = {
  "Hello": `const words = config.greeting.split(" ");
console.log("items:", config.items.join(", "));
({ words, total: config.items.reduce((a, b) => a + b, 0) })`,
  "Host functions": `// add() and fetchQuote() run on the page; the guest awaits them.
const sum = await add(2, 3);
const quote = await fetchQuote(sum);
await notify("the guest says hi");
({ sum, quote })`,
  "TypeScript": `// Types are stripped before the run (not checked); enums and classes work.
interface Item { name: string; qty: number }
enum Unit { Piece = "pc", Box = "box" }
class Cart {
  constructor(private readonly items: Item[] = []) {}
  add(name: string, qty = 1): this { this.items.push({ name, qty }); return this; }
  total(): number { return this.items.reduce((n, i) => n + i.qty, 0); }
}
const cart = new Cart().add("apple", 2).add("pear");
({ total: cart.total(), unit: Unit.Piece } satisfies { total: number; unit: Unit })`,
  "TypeScript error": `interface User { name: string; email?: string }
function domain(user: User): string {
  return user.email!.split("@")[1]!;
}
domain({ name: "ada" });`,
  "Modules (MemoryHooks)": `import { square, VERSION } from "./lib.js";
({ nine: square(3), VERSION })`,
  "Runaway loop (CPU limit)": `// Stopped by the engine's CPU limit; the page ticker keeps going.
let n = 0;
while (true) n++;`,
  "Hard-kill deadline": `// Set the CPU timeout high and the hard-kill deadline low (e.g. 500 ms):
// the page terminates the worker.
for (;;) {}`,
  "Memory hog": `const keep = [];
for (;;) keep.push("x".repeat(1 << 16) + keep.length);`,
  "Guest error": `function parse(text) {
  return JSON.parse(text);
}
parse("{ not json");`,
  "Exit": `console.log("leaving");
exit(3);`,
};

const DEFAULT_LIB = `export const VERSION = "1.0";
export function square(x) { return x * x; }`;

const DEFAULT_GLOBALS = `{
  "config": { "greeting": "hello from the host", "items": [1, 2, 3] }
}`;

/** The host log keeps its last lines only, rendered at most every 50 ms and when a run ends: a guest can call notify() ~10 000 times a second. */
const HOST_LOG_LINES = 200;
const hostLines: string[] = [];
let hostLogDirty = false;
const hostLog = (line: string): void => {
  // Appending to the panel's text copied the whole log each time: quadratic, a flood froze the page for seconds.
  hostLines.push(`${new Date().toISOString().slice(11, 23)} ${line.slice(0, 500)}\n`);
  if (hostLines.length > HOST_LOG_LINES) hostLines.splice(0, hostLines.length - HOST_LOG_LINES);
  if (hostLogDirty) return;
  hostLogDirty = true;
  setTimeout(renderHostLog, 50);
};
function renderHostLog(): void {
  if (!hostLogDirty) return;
  hostLogDirty = false;
  $("host-log").textContent = hostLines.join("");
}

/** Demo host functions: each one is a capability the page may grant. */
const HOST_FUNCTIONS: Record<string, { doc: string; fn: (...args: any[]) => unknown }> = {
  add: { doc: "add(a, b) → a + b", fn: (a: number, b: number) => a + b },
  fetchQuote: {
    doc: "fetchQuote(n) → { n, text } after 50 ms",
    fn: (n: number) => new Promise((resolve) => setTimeout(() => resolve({ n, text: `quote #${n}: simple is better than complex` }), 50)),
  },
  notify: { doc: "notify(message) → writes to the host log", fn: (message: unknown) => void hostLog(`notify: ${(typeof message === "string" ? message : show(message)).slice(0, 500)}`) },
};

/** The TypeScript examples: choosing one switches the language. */
const EXAMPLE_LANGUAGE: Record<string, Language> = { "TypeScript": "ts", "TypeScript error": "ts" };

let editor: EditorView;
const languageMode = new Compartment();
/**
 * Every run gets a fresh sandbox, so running the same code twice works (a kept sandbox said
 * "redeclaration of" the first run's top-level `const`s) and no run sees another's state. The next
 * one is started when a run ends (not during it: it would compete with the guest for the CPU), so
 * a run seldom waits for a start-up.
 */
let spare: { key: string; rx: WebWorkerRExec } | undefined;
/** The sandbox of the run in progress (the Stop button ends it). */
let running: WebWorkerRExec | undefined;
/** How long each sandbox took to start, ms. */
const startTimes = new WeakMap<WebWorkerRExec, number>();

function setCode(code: string): void {
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: code } });
}

function language(): Language {
  return ($("language") as HTMLSelectElement).value === "ts" ? "ts" : "js";
}

/** Switch the editor's syntax mode (and the picker); the run's filename follows {@link language}. */
function setLanguage(lang: Language): void {
  ($("language") as HTMLSelectElement).value = lang;
  editor.dispatch({ effects: languageMode.reconfigure(javascript({ typescript: lang === "ts" })) });
}

/** The guest's filename: its extension tells the sandbox to strip TypeScript types. */
const guestFile = (): string => (language() === "ts" ? "playground.ts" : "playground.js");

function config(): { key: string; options: ConstructorParameters<typeof WebWorkerRExec>[0] } {
  let globals: Record<string, unknown>;
  const text = ($("globals") as HTMLTextAreaElement).value;
  try {
    const parsed = JSON.parse(text || "{}");
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("globals must be a JSON object");
    globals = parsed;
    $("globals-error").textContent = "";
  } catch (error) {
    $("globals-error").textContent = `globals: ${(error as Error).message}`;
    throw error;
  }
  for (const name of Object.keys(HOST_FUNCTIONS)) {
    if (($(`fn-${name}`) as HTMLInputElement).checked) globals[name] = HOST_FUNCTIONS[name]!.fn;
  }
  const num = (id: string): number | undefined => {
    const v = ($(id) as HTMLInputElement).value.trim();
    return v === "" ? undefined : Number(v);
  };
  const memoryMiB = num("limit-memory") ?? 32;
  const timeoutMs = num("limit-timeout") ?? 1000;
  const wall = num("limit-wall");
  const lib = ($("lib") as HTMLTextAreaElement).value;
  const options = {
    limits: { memoryBytes: Math.round(memoryMiB * 1024 * 1024), timeoutMs },
    globals,
    files: { "/lib.js": lib },
    wallTimeoutMs: wall,
    workerUrl: new URL("dist/browser/rexec-worker.js", location.href),
    wasmUrl: new URL("dist/browser/quickjs-ng.wasm", location.href),
  };
  // Functions cannot be keyed by JSON: their names (the ticked boxes) stand for them.
  const key = JSON.stringify([text, Object.keys(globals), memoryMiB, timeoutMs, wall, lib]);
  return { key, options };
}

/** Start a sandbox for these settings, to be taken by the next run. */
function prepare(key: string, options: ConstructorParameters<typeof WebWorkerRExec>[0]): WebWorkerRExec {
  const t0 = performance.now();
  const rx = new WebWorkerRExec(options);
  spare = { key, rx };
  rx.ready.then(() => startTimes.set(rx, performance.now() - t0), () => {});
  return rx;
}

/** A fresh sandbox for the current settings: the spare if it was made with them and is alive. */
function takeSandbox(): WebWorkerRExec {
  const { key, options } = config();
  let rx = spare && spare.key === key && spare.rx.alive ? spare.rx : undefined;
  if (!rx) {
    spare?.rx.dispose();
    rx = prepare(key, options);
  }
  spare = undefined;
  return rx;
}

/** After a run: start the next run's sandbox (settings that fail are reported when a run takes it). */
function prepareNext(): void {
  if (spare) return;
  try {
    const { key, options } = config();
    prepare(key, options);
  } catch {
    // Reported by the next run.
  }
}

/**
 * Source lines around the guest frame in the editor's code, with a caret under
 * the column. TypeScript positions are the `.ts` source's (mapped by the
 * sandbox); a TypeScript syntax error has no frame, its message starts
 * `playground.ts:<line>:<col>:`.
 */
function codeFrame(error: any, code: string, file: string): string {
  const frames: Array<{ fileName: string; line: number; column: number }> = Array.isArray(error?.frames) ? error.frames : [];
  let frame: { line: number; column: number } | undefined = frames.find((f) => f.fileName === file);
  const at = typeof error?.message === "string" ? /(?:^|\s)(playground\.[jt]s):(\d+):(\d+): /.exec(error.message.slice(0, 300)) : null;
  if (!frame && at && at[1] === file) frame = { line: Number(at[2]), column: Number(at[3]) };
  if (!frame) return "";
  const lines = code.split("\n");
  // Both numbers are guest-derived (a message can claim any file:line:col; a stack can be rewritten):
  // a frame outside the code is not shown, and the caret never goes past the end of its line.
  if (!Number.isSafeInteger(frame.line) || frame.line < 1 || frame.line > lines.length) return "";
  const column = Math.min(Math.max(1, Number.isSafeInteger(frame.column) ? frame.column : 1), lines[frame.line - 1]!.length + 1);
  const out: string[] = [];
  for (let n = Math.max(1, frame.line - 2); n <= Math.min(lines.length, frame.line + 2); n++) {
    out.push(`${n === frame.line ? ">" : " "} ${String(n).padStart(3)} | ${lines[n - 1]}`);
    if (n === frame.line) out.push(`      | ${" ".repeat(column - 1)}^`);
  }
  return out.join("\n");
}

function describeError(error: any): string {
  const name = error?.name ?? "Error";
  const lines = [`${name}${error?.guestName ? ` (${error.guestName})` : ""}: ${error?.message ?? String(error)}`];
  if (error?.limit) lines.push(`limit: ${error.limit} = ${error.value}`);
  if (name === "SystemExit") lines.push(`exit code: ${error.code}`);
  if (error?.guestStack) lines.push(error.guestStack);
  return lines.join("\n");
}

async function run(): Promise<void> {
  const code = editor.state.doc.toString();
  const file = guestFile();
  for (const id of ["result", "error", "codeframe", "output"]) $(id).textContent = "";
  $("status").textContent = "running…";
  $("status").className = "";
  let rx: WebWorkerRExec;
  try {
    rx = takeSandbox();
  } catch (error) {
    // Settings the sandbox refuses (a bad limit, globals that are no JSON object): say which, in the error panel.
    $("error").textContent = describeError(error);
    $("status").textContent = "bad settings";
    $("status").className = "bad";
    document.body.dataset.runs = String(Number(document.body.dataset.runs ?? 0) + 1);
    return;
  }
  running = rx;
  const t0 = performance.now();
  try {
    const value = await rx.r_eval(code, { filename: file });
    $("result").textContent = show(value);
    $("status").textContent = "done";
  } catch (error) {
    $("error").textContent = describeError(error);
    $("codeframe").textContent = codeFrame(error, code, file);
    $("status").textContent = (error as Error)?.name ?? "error";
    $("status").className = "bad";
  } finally {
    const wall = performance.now() - t0;
    renderHostLog();
    $("output").textContent = rx.output.stdout + (rx.output.stderr ? `\n[stderr]\n${rx.output.stderr}` : "");
    $("stats-cpu").textContent = `${rx.lastCallCpuMs.toFixed(1)} ms`;
    $("stats-heap").textContent = `${(rx.heapBytes / 1024).toFixed(0)} KiB`;
    $("stats-wall").textContent = `${wall.toFixed(1)} ms`;
    const started = startTimes.get(rx);
    $("stats-start").textContent = started === undefined ? "–" : `${started.toFixed(0)} ms`;
    if (running === rx) running = undefined;
    rx.dispose();
    prepareNext();
    document.body.dataset.runs = String(Number(document.body.dataset.runs ?? 0) + 1);
  }
}

function init(): void {
  editor = new EditorView({ doc: EXAMPLES["Hello"]!, extensions: [basicSetup, languageMode.of(javascript())], parent: $("editor") });
  ($("globals") as HTMLTextAreaElement).value = DEFAULT_GLOBALS;
  ($("lib") as HTMLTextAreaElement).value = DEFAULT_LIB;
  const select = $("example") as HTMLSelectElement;
  for (const name of Object.keys(EXAMPLES)) select.add(new Option(name, name));
  select.onchange = () => {
    setLanguage(EXAMPLE_LANGUAGE[select.value] ?? "js");
    setCode(EXAMPLES[select.value]!);
  };
  const picker = $("language") as HTMLSelectElement;
  picker.onchange = () => setLanguage(language());
  const box = $("host-functions");
  for (const [name, { doc }] of Object.entries(HOST_FUNCTIONS)) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" id="fn-${name}" checked> <code></code>`;
    label.querySelector("code")!.textContent = doc;
    box.append(label);
  }
  let ticks = 0;
  setInterval(() => ($("ticks").textContent = String(++ticks)), 50);
  $("run").onclick = () => void run();
  $("stop").onclick = () => {
    running?.dispose();
    $("status").textContent = "worker stopped";
  };
  editor.contentDOM.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
      e.preventDefault();
      void run();
    }
  });
  // Start a sandbox now, so the first run does not wait for the engine.
  const { key, options } = config();
  const first = prepare(key, options);
  first.ready.then(
    () => ($("stats-start").textContent = `${startTimes.get(first)?.toFixed(0) ?? "–"} ms`),
    () => {},
  );
  first.ready.then(
    () => ($("status").textContent = "ready"),
    (error) => ($("status").textContent = `start-up failed: ${(error as Error).message}`),
  ).finally(() => (($("run") as HTMLButtonElement).disabled = false));
  (window as any).playground = { setCode, setLanguage, run, getCode: () => editor.state.doc.toString(), ready: first.ready };
}

init();
