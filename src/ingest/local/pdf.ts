/**
 * PDF text with pdfjs-dist (Mozilla's PDF.js, its legacy build for Node): the document title (Info or XMP
 * metadata) and the text of every page, one paragraph per text line, pages separated by a blank line.
 * No fonts are loaded, nothing is evaluated, and a damaged file fails with a reason instead of throwing past
 * the caller.
 */

import { createRequire } from 'node:module';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

/** pdf.js is large (seconds to load on a busy machine): loaded on the first PDF, not with the CLI. */
let pdfjs: Promise<PdfJs> | undefined;

/**
 * Imports pdf.js's legacy build, with or without its optional dependency @napi-rs/canvas (33 MB of native
 * code, left out of the container image by scripts/image-prune.sh). pdf.js needs canvas only to render
 * pages; Doctor reads their text. Without it, pdf.js would fail to load: its module body runs
 * `new DOMMatrix()` (Node has no DOMMatrix; canvas supplies one). So when canvas cannot be loaded, an
 * identity-matrix stand-in is the global DOMMatrix while the module is evaluated, and is removed right
 * after (the text path never uses it), and pdf.js's warnings about the missing canvas are dropped (one set per
 * process, about rendering Doctor never does).
 */
async function loadPdfJs(): Promise<PdfJs> {
  const g = globalThis as { DOMMatrix?: unknown };
  if (g.DOMMatrix || hasCanvas()) return import('pdfjs-dist/legacy/build/pdf.mjs');
  g.DOMMatrix = class IdentityMatrix {
    a = 1; b = 0; c = 0; d = 1; e = 0; f = 0;
  };
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!/^Warning: Cannot (load "@napi-rs\/canvas"|polyfill `(DOMMatrix|ImageData|Path2D)`)/.test(String(args[0]))) warn(...args);
  };
  try {
    return await import('pdfjs-dist/legacy/build/pdf.mjs');
  } finally {
    console.warn = warn;
    delete g.DOMMatrix;
  }
}

/** Whether pdf.js's optional @napi-rs/canvas loads (resolved from pdf.js, as pdf.js does). */
function hasCanvas(): boolean {
  try {
    createRequire(import.meta.resolve('pdfjs-dist/legacy/build/pdf.mjs'))('@napi-rs/canvas');
    return true;
  } catch {
    return false;
  }
}

export interface PdfText {
  title: string | undefined;
  pages: string[];
}

/** Most pages read from one PDF (a 2,000-page manual is plenty for search). */
export const MAX_PDF_PAGES = 2000;

export async function readPdf(bytes: Uint8Array): Promise<PdfText> {
  const { getDocument, VerbosityLevel } = await (pdfjs ??= loadPdfJs());
  const task = getDocument({
    // pdf.js takes ownership of (detaches) the buffer it is given: hand it a copy.
    data: new Uint8Array(bytes),
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
    verbosity: VerbosityLevel.ERRORS,
  });
  try {
    const doc = await task.promise;
    const meta = await doc.getMetadata().catch(() => undefined);
    const info = meta?.info as { Title?: unknown } | undefined;
    const infoTitle = typeof info?.Title === 'string' ? info.Title.trim() : '';
    const xmpTitle = meta?.metadata?.get('dc:title');
    const title = infoTitle || (typeof xmpTitle === 'string' ? xmpTitle.trim() : '') || undefined;
    const pages: string[] = [];
    for (let n = 1; n <= Math.min(doc.numPages, MAX_PDF_PAGES); n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str;
        if (item.hasEOL) text += '\n';
      }
      pages.push(text.replace(/[ \t]+\n/g, '\n').trim());
      page.cleanup();
    }
    return { title, pages };
  } finally {
    await task.destroy();
  }
}
