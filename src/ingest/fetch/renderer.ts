/**
 * Renders JavaScript-built pages with Debian's Chromium through playwright-core (no browser download).
 * One browser per process, started on first use, closed with the job runner.
 *
 * With a dispatcher (the SSRF guard of net-guard.ts), Chromium opens no connection of its own: every request
 * of the page (the document, its scripts, styles and XHR, each redirect hop) is made by Doctor through that
 * dispatcher and handed to Chromium, so a page's script cannot reach loopback, private or metadata addresses
 * that the crawl itself may not (it could before: a script or a `location.href` to an internal address had
 * that address's text stored under the public page's URL). Images, media and fonts are not fetched (the
 * text does not need them), WebSockets and service workers are refused, and a page that navigates to
 * another origin while it renders is not used.
 */
import { existsSync } from 'node:fs';
import type { Browser, Route } from 'playwright-core';
import { request, type Dispatcher } from 'undici';

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

/** Largest response handed to Chromium for one request of a rendered page. */
const MAX_RESOURCE_BYTES = 10 * 1024 * 1024;
/** Requests a rendered page makes that its text does not need: refused. */
const SKIPPED_TYPES = new Set(['image', 'media', 'font']);
/** Request headers that undici sets itself or refuses. */
const HOP_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer', 'content-length', 'proxy-connection', 'proxy-authorization']);

export class ChromiumRenderer implements Renderer {
  private browser?: Promise<Browser>;

  constructor(
    private readonly executablePath: string,
    private readonly userAgent?: string,
    /** Makes every request of a rendered page (see the top of this file); Chromium's own network when absent. */
    private readonly dispatcher?: Dispatcher,
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
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const context = await browser.newContext({ userAgent: this.userAgent, javaScriptEnabled: true, serviceWorkers: 'block' });
    try {
      const dispatcher = this.dispatcher;
      if (dispatcher) {
        await context.route('**/*', (route) => relay(route, dispatcher, timeoutMs));
        await context.routeWebSocket(/.*/, (ws) => ws.close({ code: 1008, reason: 'Doctor does not open WebSockets for rendered pages' }));
      }
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'networkidle', timeout: timeoutMs });
      const final = page.url();
      if (!/^https?:/i.test(final) || new URL(final).origin !== new URL(url).origin) throw new Error(`the page went to ${final} while it rendered`);
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

/** Makes one request of a rendered page through `dispatcher` and hands the answer to Chromium (or refuses it). */
async function relay(route: Route, dispatcher: Dispatcher, timeoutMs: number): Promise<void> {
  const req = route.request();
  try {
    const target = req.url();
    if (!/^https?:\/\//i.test(target) || SKIPPED_TYPES.has(req.resourceType())) return await route.abort('blockedbyclient');
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    for (const [k, v] of Object.entries(req.headers())) if (!HOP_HEADERS.has(k) && k !== 'accept-encoding') headers[k] = v;
    const res = await request(target, {
      method: req.method() as Dispatcher.HttpMethod,
      headers,
      body: req.postDataBuffer() ?? undefined,
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const coding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_RESOURCE_BYTES || coding !== 'identity') {
        res.body.destroy();
        return await route.abort('failed');
      }
      chunks.push(c);
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined && k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') out[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    await route.fulfill({ status: res.statusCode, headers: out, body: Buffer.concat(chunks) });
  } catch {
    // refused by the SSRF guard, unreachable, too slow: the page sees a failed request
    await route.abort('blockedbyclient').catch(() => undefined);
  }
}
