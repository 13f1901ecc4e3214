/**
 * The turndown service used for HTML -> Markdown: ATX headings, fenced code with the language found in the
 * usual highlighter classes, GFM tables (own rules: turndown-plugin-gfm keeps header-less tables as raw HTML
 * and breaks rows on multi-paragraph cells), strikethrough from turndown-plugin-gfm, task-list boxes, and a
 * light escaping that keeps identifiers such as `snake_case` and `a[0]` readable and searchable.
 */
import TurndownService from 'turndown';
import { strikethrough } from 'turndown-plugin-gfm';
import { firstByTag } from './dom-walk.js';
import { escapeMarkupText } from './extract-text.js';

/** Private-use markers between table cells/rows while a table is converted (stripped from input first). */
export const CELL = '\uE000';
export const ROW = '\uE001';

const NO_LANGUAGE = new Set(['default', 'none', 'nohighlight', 'notranslate', 'plain', 'plaintext', 'text', 'nocode']);

/** The code language named by an element's class or data attributes ('' when none). */
export function languageOf(el: Element | null | undefined): string {
  if (!el || typeof el.getAttribute !== 'function') return '';
  const data = el.getAttribute('data-lang') ?? el.getAttribute('data-language');
  if (data && /^[\w+#.-]{1,40}$/.test(data)) return normaliseLanguage(data);
  const cls = el.getAttribute('class') ?? '';
  if (!cls) return '';
  for (const token of cls.split(/\s+/)) {
    const m = /^(?:language|lang|highlight)-(?:source-|text-)?([\w+#.-]{1,40})$/i.exec(token);
    if (m) return normaliseLanguage(m[1]!);
  }
  const pandoc = /(?:^|\s)sourceCode\s+([\w+#.-]{1,40})/.exec(cls);
  if (pandoc && pandoc[1] !== 'sourceCode') return normaliseLanguage(pandoc[1]!);
  const brush = /brush:\s*([\w+#-]{1,40})/.exec(cls);
  if (brush) return normaliseLanguage(brush[1]!);
  return '';
}

function normaliseLanguage(lang: string): string {
  const l = lang.toLowerCase();
  return NO_LANGUAGE.has(l) ? '' : l;
}

function codeLanguage(pre: Element): string {
  const code = firstByTag(pre, 'CODE');
  let lang = (code && languageOf(code)) || languageOf(pre);
  // Sphinx: div.highlight-python > div.highlight > pre; MkDocs: div.language-python > pre
  let up: Element | null = pre.parentElement;
  for (let i = 0; !lang && up && i < 3; i++, up = up.parentElement) lang = languageOf(up);
  return lang;
}

/** A fence longer than any backtick run inside the code. */
function fenceFor(code: string): string {
  let longest = 0;
  for (const m of code.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

/**
 * Escapes only what would change the Markdown's structure; leaves `_` inside words and brackets alone.
 * `<` and entity-like `&` are escaped too, so text showing markup never becomes live HTML (code is not
 * escaped: turndown keeps code text as it is).
 */
function escapeText(s: string): string {
  const md = s
    .replace(/\\(?=[\\`*_[\]#>~|-])/g, '\\\\')
    .replace(/`/g, '\\`')
    .replace(/\*/g, '\\*')
    .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, '\\_')
    .replace(/\]\(/g, '\\](')
    .replace(/^(\s*)([-+])(?=\s)/, '$1\\$2')
    .replace(/^(\s*)(#{1,6})(?=\s|$)/, '$1\\$2')
    .replace(/^(\s*)>/, '$1\\>')
    .replace(/^(\s*)(=+|~~~)/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])(?=\s)/, '$1\\$2');
  return escapeMarkupText(md);
}

function cellText(raw: string): string {
  return raw.replace(/\s*\n+\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

function tableMarkdown(content: string): string {
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

export function createTurndown(): TurndownService {
  const td = new TurndownService({
    headingStyle: 'atx',
    codeBlockStyle: 'fenced',
    bulletListMarker: '-',
    emDelimiter: '*',
    strongDelimiter: '**',
    hr: '---',
    linkStyle: 'inlined',
  });
  td.escape = escapeText;
  td.use(strikethrough);
  td.remove(['script', 'style', 'noscript', 'template', 'iframe', 'object', 'embed', 'button', 'select', 'input', 'textarea', 'canvas']);

  // turndown's own image rule puts alt text in unescaped: `alt="<img onerror=...>"` would become live HTML
  td.addRule('image', {
    filter: 'img',
    replacement: (_content, node) => {
      const img = node as unknown as Element;
      const src = img.getAttribute('src') ?? '';
      if (!src) return '';
      const alt = escapeMarkupText((img.getAttribute('alt') ?? '').replace(/\s+/g, ' ').trim()).replace(/[[\]]/g, '\\$&');
      const title = (img.getAttribute('title') ?? '').replace(/\s+/g, ' ').trim();
      return `![${alt}](${src}${title ? ` "${escapeMarkupText(title).replace(/"/g, '\\"')}"` : ''})`;
    },
  });

  td.addRule('heading', {
    filter: ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'],
    replacement: (content, node) => {
      const level = Number(node.nodeName.charAt(1));
      const text = content.replace(/\s+/g, ' ').replace(/\s*[¶§]\s*$/, '').trim();
      return text ? `\n\n${'#'.repeat(level)} ${text}\n\n` : '';
    },
  });

  td.addRule('fencedCode', {
    filter: (node) => node.nodeName === 'PRE',
    replacement: (_content, node) => {
      const pre = node as unknown as Element;
      const code = (pre.textContent ?? '').replace(/^\n/, '').replace(/\s+$/, '');
      if (!code.trim()) return '';
      const fence = fenceFor(code);
      return `\n\n${fence}${codeLanguage(pre)}\n${code}\n${fence}\n\n`;
    },
  });

  // "- item" / "3. item" with continuation lines indented to the text (turndown pads markers to 4 columns)
  const positions = new WeakMap<Node, number>();
  td.addRule('listItem', {
    filter: 'li',
    replacement: (content, node, options) => {
      const parent = node.parentNode as Element | null;
      let prefix = `${options.bulletListMarker} `;
      if (parent?.nodeName === 'OL') {
        if (!positions.has(node)) {
          let i = 0;
          for (let c = parent.firstElementChild; c; c = c.nextElementSibling) if (c.nodeName === 'LI') positions.set(c, i++);
        }
        const start = Number.parseInt(parent.getAttribute('start') ?? '1', 10);
        prefix = `${(Number.isFinite(start) ? start : 1) + (positions.get(node) ?? 0)}. `;
      }
      const body = content.replace(/^\n+/, '').replace(/\n+$/, '\n').replace(/\n/g, `\n${' '.repeat(prefix.length)}`);
      return prefix + body + (node.nextSibling && !/\n$/.test(body) ? '\n' : '');
    },
  });

  td.addRule('emptyLink', {
    filter: (node) => node.nodeName === 'A' && /^[\s¶#§🔗]*$/u.test(node.textContent ?? '') && !firstByTag(node, 'IMG'),
    replacement: () => '',
  });

  td.addRule('tableCell', { filter: ['th', 'td'], replacement: (content) => `${CELL}${content}` });
  td.addRule('tableRow', { filter: 'tr', replacement: (content) => `${ROW}${content}` });
  td.addRule('tableSection', { filter: ['thead', 'tbody', 'tfoot'], replacement: (content) => content });
  td.addRule('tableCaption', { filter: 'caption', replacement: (content) => `${content.trim()}\n\n` });
  td.addRule('table', { filter: 'table', replacement: (content) => tableMarkdown(content) });
  return td;
}
