/** The text of a Markdown heading, as a chunk's heading path holds it. */
import { clip } from './clip.js';
import { linksToText } from './markdown-links.js';

/** Longest heading text kept in a chunk's heading path, in characters. */
export const MAX_HEADING_CHARS = 200;

/**
 * The text of a heading line (after its `#`s) without Markdown syntax, at most `maxChars` long:
 * `[Install](#x) \`pip\`` -> `Install pip`. `links` reduces inline links to their text (a stored-data repair
 * passes the rule of an earlier version to find what it wrote).
 */
export function headingTitle(raw: string, maxChars: number, links: (s: string) => string = linksToText): string {
  let s = raw.length > maxChars * 2 ? raw.slice(0, maxChars * 2) : raw;
  s = s.trimEnd();
  // closing sequence of #s
  const m = /(^|\s)#+$/.exec(s);
  if (m) s = s.slice(0, m.index);
  s = links(s)
    .replace(/`+/g, '')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    // CommonMark: any ASCII punctuation may be backslash-escaped ("3\. Indexes", "\(required\)")
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/[¶§]\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return clip(s, maxChars);
}
