/**
 * PDF text with pdfjs-dist (Mozilla's PDF.js, its legacy build for Node): the document title (Info or XMP
 * metadata) and the text of every page, one paragraph per text line, pages separated by a blank line.
 * No fonts are loaded, nothing is evaluated, and a damaged file fails with a reason instead of throwing past
 * the caller.
 */

/** pdf.js is large (seconds to load on a busy machine): loaded on the first PDF, not with the CLI. */
let pdfjs: Promise<typeof import('pdfjs-dist/legacy/build/pdf.mjs')> | undefined;

export interface PdfText {
  title: string | undefined;
  pages: string[];
}

/** Most pages read from one PDF (a 2,000-page manual is plenty for search). */
export const MAX_PDF_PAGES = 2000;

export async function readPdf(bytes: Uint8Array): Promise<PdfText> {
  const { getDocument, VerbosityLevel } = await (pdfjs ??= import('pdfjs-dist/legacy/build/pdf.mjs'));
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
