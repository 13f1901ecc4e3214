/**
 * Worker thread: renders Markdown to (unsanitised) HTML with marked, and sanitises rendered HTML, one request
 * at a time, for markdown-renderer.ts, which ends this thread when a request runs past its deadline.
 */
import { parentPort } from 'node:worker_threads';
import { toHtml, type TocEntry } from './markdown-html.js';
import type { RenderReply, RenderRequest } from './markdown-renderer.js';
import { linkHrefs, sanitize } from './markdown-sanitize.js';

const port = parentPort;
if (!port) throw new Error('markdown-worker must run in a worker thread');

port.on('message', (m: RenderRequest) => {
  let reply: RenderReply;
  try {
    if (m.kind === 'sanitize') reply = { id: m.id, html: sanitize(m.html, m.opts) };
    else {
      const toc: TocEntry[] | undefined = m.toc ? [] : undefined;
      const html = toHtml(m.markdown, toc);
      // the links as the sanitiser will see them: the caller looks up which lead to stored pages
      reply = { id: m.id, html, toc: toc ?? [], hrefs: linkHrefs(html) };
    }
  } catch (e) {
    // marked recurses per nesting level: thousands of nested block quotes overflow the stack
    reply = { id: m.id, error: (e as Error)?.message ?? String(e) };
  }
  port.postMessage(reply);
});
// Loading this module (marked, under tsx its compilation too) is not part of any page's deadline.
port.postMessage({ ready: true });
