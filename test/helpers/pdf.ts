/** Small valid PDFs made in the tests, with computed cross-reference offsets so readers accept them. */
import assert from 'node:assert/strict';

const esc = (s: string) => s.replace(/[\\()]/g, (c) => '\\' + c);
const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();
/** A PDF text string: a literal for ASCII text, else UTF-16BE with its byte-order mark, in hex. */
const textString = (s: string) => (/^[\x20-\x7e]*$/.test(s) ? `(${esc(s)})` : `<FEFF${utf16be(s).toString('hex').toUpperCase()}>`);

/**
 * A PDF file from its objects (object n is `objects[n - 1]`; the catalog is object 1) and an optional Info
 * dictionary's object number: a header, the objects, an xref table with their byte offsets and the trailer.
 */
function pdfFile(objects: string[], info?: number): Buffer {
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${info ? ` /Info ${info} 0 R` : ''} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/**
 * An Info dictionary with a title and one page per entry of `pages`, each line drawn with `font` (the font
 * dictionary and the objects it refers to; default Helvetica) and written as `encodeLine` says (default a
 * literal string).
 */
function pagesPdf(opts: { title?: string; pages: string[][]; font?: string[]; encodeLine?: (line: string) => string }): Buffer {
  const objects: string[] = [];
  const add = (body: string) => objects.push(body); // object numbers start at 1
  add('<< /Type /Catalog /Pages 2 0 R >>');
  add(''); // 2: the page tree, filled in below
  // The font's objects, the font itself first; `{k}` in one stands for the object number of
  // the k-th (from 0).
  const fontDefs = opts.font ?? ['<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>'];
  const font = objects.length + 1;
  for (const def of fontDefs) add(def.replace(/\{(\d+)\}/g, (_, k: string) => String(font + Number(k))));
  const encode = opts.encodeLine ?? ((l: string) => `(${esc(l)})`);
  const pageIds: number[] = [];
  for (const lines of opts.pages) {
    const ops = ['BT', '/F1 12 Tf', '14 TL', '72 720 Td', ...lines.map((l) => `${encode(l)} Tj T*`), 'ET'].join('\n');
    const content = add(`<< /Length ${Buffer.byteLength(ops, 'latin1')} >>\nstream\n${ops}\nendstream`);
    pageIds.push(add(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${content} 0 R >>`));
  }
  objects[1] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageIds.length} >>`;
  const info = opts.title ? add(`<< /Title ${textString(opts.title)} /Producer (doctor tests) >>`) : undefined;
  return pdfFile(objects, info);
}

/** An Info dictionary with a title and one page per entry of `pages`, each line drawn in Helvetica. */
export function makePdf(opts: { title?: string; pages: string[][] }): Buffer {
  return pagesPdf(opts);
}

let shiftJisTable: Map<string, Buffer> | undefined;

/** Shift-JIS bytes of a line (Node decodes Shift-JIS but has no encoder: the table is the decoder's inverse). */
function shiftJis(line: string): Buffer {
  if (!shiftJisTable) {
    shiftJisTable = new Map();
    const decoder = new TextDecoder('shift_jis', { fatal: true });
    for (let lead = 0x81; lead <= 0xfc; lead++) {
      if (lead > 0x9f && lead < 0xe0) continue;
      for (let trail = 0x40; trail <= 0xfc; trail++) {
        const bytes = Buffer.from([lead, trail]);
        try {
          const ch = decoder.decode(bytes);
          if (!shiftJisTable.has(ch)) shiftJisTable.set(ch, bytes);
        } catch {
          // not a character
        }
      }
    }
  }
  return Buffer.concat(
    [...line].map((ch) => (ch.charCodeAt(0) < 0x80 ? Buffer.from(ch, 'latin1') : (shiftJisTable!.get(ch) ?? assert.fail(`no Shift-JIS code for ${ch}`)))),
  );
}

/**
 * Adobe's predefined CJK fonts as PDFs name them: a predefined CMap (the font's /Encoding), the Adobe
 * character collection it maps to, and how a line of text becomes character codes under that CMap.
 */
export const CJK_FONTS = {
  /** Shift-JIS codes -> Adobe-Japan1 CIDs (older Japanese PDFs): text only through the CID -> Unicode map. */
  'japanese-sjis': { baseFont: 'Ryumin-Light', cmap: '90ms-RKSJ-H', ordering: 'Japan1', supplement: 2, encode: shiftJis },
  japanese: { baseFont: 'KozMinPr6N-Regular', cmap: 'UniJIS-UCS2-H', ordering: 'Japan1', supplement: 6, encode: utf16be },
  chinese: { baseFont: 'STSong-Light', cmap: 'UniGB-UCS2-H', ordering: 'GB1', supplement: 5, encode: utf16be },
  korean: { baseFont: 'HYSMyeongJo-Medium', cmap: 'UniKS-UCS2-H', ordering: 'Korea1', supplement: 2, encode: utf16be },
} as const;

/**
 * A PDF whose text is drawn in one of Adobe's predefined CJK fonts, not embedded (as many Chinese, Japanese
 * and Korean PDFs are): a Type0 font with a predefined CMap as its /Encoding and a CIDFontType0 descendant
 * of an Adobe character collection, with no /ToUnicode map. A reader gets the text only through Adobe's
 * CMap files.
 */
export function makeCjkPdf(opts: { title?: string; font: keyof typeof CJK_FONTS; pages: string[][] }): Buffer {
  const f = CJK_FONTS[opts.font];
  return pagesPdf({
    title: opts.title,
    pages: opts.pages,
    font: [
      `<< /Type /Font /Subtype /Type0 /BaseFont /${f.baseFont} /Encoding /${f.cmap} /DescendantFonts [{1} 0 R] >>`,
      `<< /Type /Font /Subtype /CIDFontType0 /BaseFont /${f.baseFont} /CIDSystemInfo << /Registry (Adobe) /Ordering (${f.ordering}) /Supplement ${f.supplement} >> /FontDescriptor {2} 0 R /DW 1000 >>`,
      `<< /Type /FontDescriptor /FontName /${f.baseFont} /Flags 6 /FontBBox [-200 -300 1200 1000] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>`,
    ],
    encodeLine: (line) => `<${f.encode(line).toString('hex').toUpperCase()}>`,
  });
}
