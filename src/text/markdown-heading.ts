/** The text of a Markdown heading, as a chunk's heading path holds it. */
import { clip } from './clip.js';
import { linksToText } from './markdown-links.js';

/** Longest heading text kept in a chunk's heading path, in characters. */
export const MAX_HEADING_CHARS = 200;
/**
 * Characters of a heading line read (a bound for hostile lines, far above any real heading). Link markup counts
 * here but not in the text: rustdoc's method headings link every type of the signature, ~470 characters of
 * Markdown for `fn try_into(self) -> Result<U, <U as TryFrom<T>>::Error>`.
 */
export const HEADING_READ_CHARS = 8192;

/** How a heading line is read: the current rule, or an earlier version's (a stored-data repair finds what it wrote). */
export interface HeadingRule {
  /** Reduces inline links to their text. */
  links: (s: string) => string;
  /** Characters of the line read. */
  readChars: number;
  /** Whether a link cut by `readChars` is reduced to its text (else its markup stays). */
  cutLinks: boolean;
}

export const HEADING_RULE: HeadingRule = { links: linksToText, readChars: HEADING_READ_CHARS, cutLinks: true };

/**
 * The text of a heading line (after its `#`s) without Markdown syntax, at most `maxChars` long:
 * `[Install](#x) \`pip\`` -> `Install pip`.
 */
export function headingTitle(raw: string, maxChars: number, rule: HeadingRule = HEADING_RULE): string {
  const cut = raw.length > rule.readChars;
  let s = cut ? raw.slice(0, rule.readChars) : raw;
  s = s.trimEnd();
  // closing sequence of #s
  const m = /(^|\s)#+$/.exec(s);
  if (m) s = s.slice(0, m.index);
  s = rule.links(s);
  // a link that the read bound cut keeps its text, not its destination
  if (cut && rule.cutLinks) s = s.replace(/!?\[((?:[^[\]\\]|\\.)*)\]\([\s\S]*$/, '$1');
  // the text needs no more than this (and the emphasis rule below is quadratic in what it reads)
  if (s.length > maxChars * 2) s = s.slice(0, maxChars * 2);
  s = s
    .replace(/`+/g, '')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    // CommonMark: any ASCII punctuation may be backslash-escaped ("3\. Indexes", "\(required\)")
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/[¶§]\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return clip(s, maxChars);
}
