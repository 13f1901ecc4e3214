/**
 * Markdown to HTML, and that HTML made safe, off the main thread, with a deadline. marked reads some inputs in time that grows with
 * the square of their size (a long word of intraword underscores: 80 KB took 7 s, a megabyte would take
 * most of an hour) and overflows its stack on thousands of nested block quotes. On the main thread, one
 * such stored page, opened in the site map or the web interface, would stop REST and MCP for everyone.
 * Here one worker thread renders, a request at a time; a render that passes its deadline ends the worker
 * (marked is plain JavaScript: terminating it is safe) and the next request starts a fresh one. The caller
 * gets `undefined` for a page that could not be rendered, and shows it as plain text.
 */
import type { Worker } from 'node:worker_threads';
import type { TocEntry } from './markdown-html.js';
import type { RenderOptions } from './markdown-sanitize.js';
import { startWorker } from '../worker-thread.js';

export type RenderRequest =
  | { id: number; kind: 'render'; markdown: string; toc: boolean }
  | { id: number; kind: 'sanitize'; html: string; opts: RenderOptions };
export type RenderReply =
  | { id: number; html: string; toc: TocEntry[]; hrefs: string[] }
  | { id: number; html: string }
  | { id: number; error: string }
  | { ready: true };

/** A page rendered (unsanitised), its headings (when asked for) and the hrefs of its links as written. */
export interface Rendered {
  html: string;
  toc: TocEntry[];
  hrefs: string[];
}

/**
 * How long one page may take to render, and again to sanitise (ms), plus RENDER_MS_PER_MB per MB of input:
 * normal pages take milliseconds, a 1 MB page well under a second, a 20 MB one ~1.5 s to render and 0.7-2.8 s
 * to sanitise (more with marked search terms; several times that on a busy machine); the inputs marked is
 * slow on take far longer than their size explains.
 */
export const RENDER_DEADLINE_MS = 3000;
export const RENDER_MS_PER_MB = 2000;

interface Job {
  request: RenderRequest;
  /** The reply, or undefined when the request failed or passed its deadline. */
  resolve: (r: Exclude<RenderReply, { ready: true } | { error: string }> | undefined) => void;
}

export class MarkdownRenderer {
  private worker: Worker | undefined;
  /** The worker has loaded its module (its start-up does not count toward a deadline). */
  private ready = false;
  private readonly queue: Job[] = [];
  private current: { job: Job; timer: NodeJS.Timeout } | undefined;
  private nextId = 1;

  constructor(private readonly deadlineMs = RENDER_DEADLINE_MS) {}

  /** The page's HTML (unsanitised), its links and, with `toc`, its headings; undefined when it failed or took too long. */
  async render(markdown: string, toc: boolean): Promise<Rendered | undefined> {
    const r = await this.ask({ id: this.nextId++, kind: 'render', markdown, toc });
    return r && 'hrefs' in r ? r : undefined;
  }

  /** Rendered HTML made safe (./markdown-sanitize.ts); undefined when it failed or took too long. */
  async sanitize(html: string, opts: RenderOptions): Promise<string | undefined> {
    return (await this.ask({ id: this.nextId++, kind: 'sanitize', html, opts }))?.html;
  }

  private ask(request: RenderRequest): Promise<Parameters<Job['resolve']>[0]> {
    return new Promise((resolve) => {
      this.queue.push({ request, resolve });
      this.pump();
    });
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) {
      if (!this.current) this.worker?.unref(); // idle: the thread does not keep the process alive
      return;
    }
    const worker = this.ensureWorker();
    worker.ref();
    if (!this.ready) return; // pumped again when it is
    const job = this.queue.shift()!;
    const size = job.request.kind === 'render' ? job.request.markdown.length : job.request.html.length;
    const timer = setTimeout(() => this.giveUp(), this.deadlineMs + (size / 1e6) * RENDER_MS_PER_MB);
    this.current = { job, timer };
    worker.postMessage(job.request);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(import.meta.url, 'markdown-worker');
    this.ready = false;
    worker.on('message', (reply: RenderReply) => {
      if ('ready' in reply) {
        if (this.worker === worker) this.ready = true;
        this.pump();
        return;
      }
      const cur = this.current;
      if (!cur || cur.job.request.id !== reply.id) return;
      clearTimeout(cur.timer);
      this.current = undefined;
      cur.job.resolve('error' in reply ? undefined : reply);
      this.pump();
    });
    const lost = () => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      // A worker that never started will not start next time either: the waiting pages get plain text.
      if (!this.ready) for (const job of this.queue.splice(0)) job.resolve(undefined);
      this.ready = false;
      this.finishCurrent();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.worker = worker;
    return worker;
  }

  /** The render in progress passed its deadline: end the worker; the next request starts another. */
  private giveUp(): void {
    const worker = this.worker;
    this.worker = undefined;
    this.finishCurrent();
    void worker?.terminate();
  }

  private finishCurrent(): void {
    const cur = this.current;
    if (!cur) return;
    clearTimeout(cur.timer);
    this.current = undefined;
    cur.job.resolve(undefined);
    this.pump();
  }
}
