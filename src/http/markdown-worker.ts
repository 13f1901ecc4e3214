/**
 * Worker thread: renders Markdown to (unsanitised) HTML with marked, one request at a time, for
 * markdown-renderer.ts, which ends this thread when a render runs past its deadline.
 */
import { parentPort } from 'node:worker_threads';
import { toHtml, type TocEntry } from './markdown-html.js';
import type { RenderReply, RenderRequest } from './markdown-renderer.js';

const port = parentPort;
if (!port) throw new Error('markdown-worker must run in a worker thread');

port.on('message', (m: RenderRequest) => {
  let reply: RenderReply;
  try {
    const toc: TocEntry[] | undefined = m.toc ? [] : undefined;
    reply = { id: m.id, html: toHtml(m.markdown, toc), toc: toc ?? [] };
  } catch (e) {
    // marked recurses per nesting level: thousands of nested block quotes overflow the stack
    reply = { id: m.id, error: (e as Error)?.message ?? String(e) };
  }
  port.postMessage(reply);
});
// Loading this module (marked, under tsx its compilation too) is not part of any page's deadline.
port.postMessage({ ready: true });
