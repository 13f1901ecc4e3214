/**
 * GFM tables from converted cell contents: the converter marks each cell and row with private-use characters
 * (stripped from the input first), and `tableMarkdown` lays the marked content out as a table. Own rules,
 * not turndown-plugin-gfm's: that kept header-less tables as raw HTML and broke rows on multi-paragraph cells.
 */

import { inlineStart } from './markdown-escape.js';

/** Private-use markers before each table cell / row while a table is converted. */
export const CELL = '\uE000';
export const ROW = '\uE001';

function cellText(raw: string): string {
  // Lines joined by one space, whitespace around the breaks dropped. (Not /\s*\n+\s*/g: a long run of no-break
  // spaces without a line break took time quadratic in its length.)
  const oneLine = raw.includes('\n') ? raw.split('\n').map((line) => line.trim()).filter(Boolean).join(' ') : raw;
  return inlineStart(oneLine.replace(/\|/g, '\\|').trim());
}

/** The Markdown of a table whose converted content is `caption ROW CELL a CELL b ROW CELL c ...`. */
export function tableMarkdown(content: string): string {
  const captionEnd = content.indexOf(ROW);
  const caption = (captionEnd < 0 ? content : content.slice(0, captionEnd)).trim();
  const rows = content
    .split(ROW)
    .slice(1)
    .map((r) => r.split(CELL).slice(1))
    .filter((cells) => cells.length > 0);
  if (rows.length === 0) return `\n\n${caption}\n\n`;
  const cols = Math.max(...rows.map((r) => r.length));
  if (cols <= 1) {
    // a layout table: its content, not a grid
    const text = rows.map((r) => (r[0] ?? '').trim()).filter(Boolean).join('\n\n');
    return `\n\n${caption ? `${caption}\n\n` : ''}${text}\n\n`;
  }
  const line = (cells: string[]) => `| ${Array.from({ length: cols }, (_, i) => cellText(cells[i] ?? '')).join(' | ')} |`;
  const [head, ...body] = rows;
  const out = [line(head!), `| ${Array.from({ length: cols }, () => '---').join(' | ')} |`, ...body.map(line)];
  return `\n\n${caption ? `${caption}\n\n` : ''}${out.join('\n')}\n\n`;
}
