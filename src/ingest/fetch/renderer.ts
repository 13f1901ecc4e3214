/**
 * Renders JavaScript-built pages with Debian's Chromium through playwright-core (no browser download).
 * One browser per process, started on first use, closed with the job runner.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export interface Renderer {
  render(url: string, opts?: { timeoutMs?: number }): Promise<string>;
  close(): Promise<void>;
}

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export class ChromiumRenderer implements Renderer {
  private browser?: Promise<Browser>;

  constructor(
    private readonly executablePath: string,
    private readonly userAgent?: string,
  ) {}

  /** Whether the configured Chromium binary exists (rendering is skipped with a warning otherwise). */
  get available(): boolean {
    return existsSync(this.executablePath);
  }

  private launch(): Promise<Browser> {
    if (!this.browser) {
      this.browser = import('playwright-core').then(({ chromium }) => {
        if (!this.available) {
          throw new Error(
            `Chromium not found at ${this.executablePath}: install Debian's chromium package or set DOCTOR_CHROMIUM_PATH.`,
          );
        }
        return chromium.launch({ executablePath: this.executablePath, args: CHROMIUM_FLAGS, headless: true });
      });
      this.browser.catch(() => {
        this.browser = undefined;
      });
    }
    return this.browser;
  }

  async render(url: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const browser = await this.launch();
    const context = await browser.newContext({ userAgent: this.userAgent, javaScriptEnabled: true });
    try {
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'networkidle', timeout: opts.timeoutMs ?? 20_000 });
      return await page.content();
    } finally {
      await context.close();
    }
  }

  async close(): Promise<void> {
    const b = this.browser;
    this.browser = undefined;
    if (b) await (await b.catch(() => undefined))?.close();
  }
}
