/**
 * PDF text with pdfjs-dist (Mozilla's PDF.js, its legacy build for Node): the document title (Info or XMP
 * metadata) and the text of every page, one paragraph per text line, pages separated by a blank line.
 * Fonts are read only to map their character codes to text: pdf.js parses a PDF's embedded fonts, and reads
 * Adobe's CMaps and the standard fonts' data from pdfjs-dist's own files (`cmaps/`, `standard_fonts/`), never
 * from the system. No font is rendered or installed (no FontFace), no code in a PDF or font is evaluated,
 * and a damaged file fails with a reason instead of throwing past the caller.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** pdf.js's data files as getDocument options (see pdfJsData); found on the first PDF. */
let dataOptions: PdfJsData | undefined;

export interface PdfJsData {
  cMapUrl?: string;
  cMapPacked?: boolean;
  standardFontDataUrl?: string;
}

/**
 * pdfjs-dist's Adobe CMaps (`cmaps/`, binary "packed" .bcmap files) and standard font data
 * (`standard_fonts/`) under the package directory `root`, as getDocument options. pdf.js needs a predefined
 * CMap to read the text of a font that names one as its encoding and has no /ToUnicode map (CJK fonts that
 * are not embedded, e.g. `/Encoding /90ms-RKSJ-H` or `/UniGB-UCS2-H`): the CMap maps character codes to
 * CIDs, the character collection's UCS2 CMap maps CIDs to Unicode. Standard font data are the outlines,
 * metrics and built-in encodings of the 14 standard fonts (Helvetica, Symbol, ...) that PDFs use without
 * embedding them. pdf.js's Node build reads both with fs.readFile(directory + file name), so they are file
 * paths ending in `/` (pdf.js requires the slash, on every platform). A missing directory is left out:
 * PDFs are still read, without the text of fonts that need it.
 */
export function pdfJsData(root: string): PdfJsData {
  const dir = (name: string) => {
    const path = join(root, name);
    return existsSync(path) ? path + '/' : undefined;
  };
  const cMapUrl = dir('cmaps');
  const standardFontDataUrl = dir('standard_fonts');
  return { ...(cMapUrl && { cMapUrl, cMapPacked: true }), ...(standardFontDataUrl && { standardFontDataUrl }) };
}

/**
 * The installed pdfjs-dist's data files: resolved like the import of pdf.js (node_modules/pdfjs-dist, for
 * src under tsx, dist and the container image alike; scripts/image-prune.sh keeps both directories).
 */
function installedPdfJsData(): PdfJsData {
  try {
    return pdfJsData(dirname(fileURLToPath(import.meta.resolve('pdfjs-dist/package.json'))));
  } catch {
    return {};
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
    // pdf.js's warnings (a font or CMap it cannot load, a damaged object it skips) go to the console for
    // every such file, with no path to tell which; what is lost shows as missing or no text instead.
    verbosity: VerbosityLevel.ERRORS,
    ...(dataOptions ??= installedPdfJsData()),
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
