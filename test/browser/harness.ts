/**
 * Shared set-up of the browser tests: Debian's Chromium driven by
 * playwright-core (one browser per test file), the playground's static server
 * on 127.0.0.1, and the screenshot directory test-output/.
 *
 * Each test file first rebuilds the browser bundles (scripts/build-browser.mjs,
 * ~0.5 s; files are replaced atomically, so files building at once are safe):
 * the tests always load bundles of the current sources. That build needs the
 * rest of dist/ (`npm run build`).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { IncomingMessage, ServerResponse } from "node:http";
import { chromium, type BrowserContext, type Page } from "playwright-core";
// @ts-expect-error — a plain .mjs module without declarations.
import { startServer } from "../../playground/server.mjs";
// @ts-expect-error — a plain .mjs module without declarations.
import { buildBrowser } from "../../scripts/build-browser.mjs";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const outputDir = join(root, "test-output");

/** Chromium's flags here: headless, no GPU, and no background networking (the machine has no network; without these it stalls); `gc()` for tests of what collection releases. */
const ARGS = ["--js-flags=--expose-gc", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface Harness {
  readonly url: string;
  readonly context: BrowserContext;
  /** A new page with console errors and page errors collected. */
  newPage(): Promise<Page & { errors: string[] }>;
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

type Extra = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

export async function startHarness(extra?: Extra): Promise<Harness> {
  await buildBrowser();
  mkdirSync(outputDir, { recursive: true });
  const server = (await startServer({ port: 0, extra })) as { url: string; close(): Promise<void> };
  const profile = mkdtempSync(join(tmpdir(), "rexec-chromium-"));
  const executablePath = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: ARGS, viewport: { width: 1400, height: 1000 } });
  return {
    url: server.url,
    context,
    async newPage() {
      const page = (await context.newPage()) as Page & { errors: string[] };
      page.errors = [];
      page.on("pageerror", (e) => page.errors.push(e.message));
      return page;
    },
    async screenshot(page, name) {
      await page.screenshot({ path: join(outputDir, `browser-${name}.png`), fullPage: true });
    },
    async close() {
      await context.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
