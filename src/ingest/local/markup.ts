/**
 * reStructuredText and AsciiDoc as text with their headings: section titles become Markdown headings (so
 * chunks carry their heading path and the title is found), everything else stays as written. No directive
 * is run and nothing is included: these are read as documents, not built.
 */

/** Characters RST allows as section adornment. */
const RST_ADORNMENT = /^([!-/:-@[-`{-~])\1{2,}\s*$/;

/**
 * RST sections: a title line underlined (and optionally overlined) with one punctuation character at least
 * as long as the title. Levels follow the order in which adornment styles first appear, as docutils does.
 */
export function rstToMarkdown(text: string): { markdown: string; title: string | undefined } {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const styles: string[] = [];
  const out: string[] = [];
  let title: string | undefined;
  const heading = (style: string, t: string) => {
    if (!styles.includes(style)) styles.push(style);
    const level = Math.min(6, styles.indexOf(style) + 1);
    title ??= t;
    out.push(`${'#'.repeat(level)} ${t}`);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const next = lines[i + 1];
    const after = lines[i + 2];
    // overline, title, underline (same character)
    if (RST_ADORNMENT.test(line) && next !== undefined && next.trim() && after !== undefined && RST_ADORNMENT.test(after) && after.trim()[0] === line.trim()[0]) {
      const t = next.trim();
      if (t.length <= line.trim().length) {
        heading(`over${line.trim()[0]}`, t);
        i += 2;
        continue;
      }
    }
    // title, underline
    if (line.trim() && !/^\s/.test(line) && next !== undefined && RST_ADORNMENT.test(next) && next.trim().length >= line.trim().length && !RST_ADORNMENT.test(line)) {
      heading(`under${next.trim()[0]}`, line.trim());
      i += 1;
      continue;
    }
    out.push(line);
  }
  return { markdown: out.join('\n').trim(), title };
}

/**
 * AsciiDoc sections: `= Document title`, `== Section` ... (`#` is accepted as well), Markdown-style. A
 * `:title:` attribute names the document when there is no level-0 title. Delimited listing and literal
 * blocks (----, ....) are kept as fenced code, and headings inside them are not headings.
 */
export function asciidocToMarkdown(text: string): { markdown: string; title: string | undefined } {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let title: string | undefined;
  let attrTitle: string | undefined;
  let block: string | null = null;
  for (const line of lines) {
    const delim = /^(-{4,}|\.{4,})\s*$/.exec(line)?.[1];
    if (block) {
      if (line.trim() === block) {
        block = null;
        out.push('```');
      } else out.push(line);
      continue;
    }
    if (delim) {
      block = delim;
      out.push('```');
      continue;
    }
    const h = /^(={1,6}|#{1,6})\s+(\S.*)$/.exec(line);
    if (h) {
      const level = h[1]!.length;
      const t = headingText(h[2]!);
      if (level === 1) title ??= t;
      out.push(`${'#'.repeat(level)} ${t}`);
      continue;
    }
    const attr = /^:title:\s+(.+)$/.exec(line);
    if (attr) attrTitle ??= attr[1]!.trim();
    out.push(line);
  }
  if (block) out.push('```');
  return { markdown: out.join('\n').trim(), title: title ?? attrTitle };
}

/**
 * An AsciiDoc heading's text without the closing `=` run of the symmetric form (`== Title ==`) and the
 * spaces around it. Trimmed by hand: the regex it replaces, `(\S.*?)\s*(?:=*)\s*$`, took time cubic in a
 * run of spaces inside the line (one 5,000-space line: 34 s of the server's main thread).
 */
function headingText(rest: string): string {
  const t = rest.trimEnd();
  let end = t.length;
  while (end > 1 && t[end - 1] === '=') end--;
  return t.slice(0, end).trimEnd();
}
