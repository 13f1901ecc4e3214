/**
 * Inline Markdown links and images reduced to their text: `[text](dest "title")` -> `text`, `![alt](src)` -> `alt`.
 *
 * Follows CommonMark's inline link syntax as far as Doctor's Markdown writer and hand-written Markdown use it:
 * a destination in `<...>`, or with backslash-escaped or balanced parentheses (`wiki/Foo_(bar)`); an optional
 * title in `"..."`, `'...'` or `(...)`, which may hold parentheses and escaped quotes (Sphinx puts a module's
 * summary there: `"optparse: Command-line option parsing library. (deprecated)"`); link text with one level of
 * nested brackets (`[a[0]](#x)`) or an image (`[![logo](l.png)](/)`). Each alternative starts on its own
 * character, and the whitespace after `(` is taken whole (`(?=(\s*))\2`: a lookahead's match is never given
 * back), so a match never backtracks more than linearly. (With a plain `\s*` there, it and the `\s+` and `\s*`
 * after an empty destination split one run between them in quadratic time: `[a](` + 8,000 spaces in a heading
 * took 0.16 s. The other two runs are told apart by the destination's non-space characters.)
 */
const LINK_RE =
  /!?\[((?:[^[\]\\]|\\.|\[(?:[^[\]\\]|\\.)*\])*)\]\((?=(\s*))\2(?:<(?:[^<>\n\\]|\\.)*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*)(?:\s+(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?\s*\)/g;

/** `s` with every inline link and image replaced by its text (an image inside a link text too). */
export function linksToText(s: string): string {
  return replaceLinks(s);
}

/** `s` with its links and images as their text (as linksToText), and what that left out: destinations and titles. */
export function splitLinks(s: string): { text: string; targets: string } {
  const targets: string[] = [];
  const text = replaceLinks(s, targets);
  return { text, targets: targets.join(' ') };
}

/** Each link of `s` replaced by its text; what follows a link's text (`](dest "title")`) goes to `targets`. */
function replaceLinks(s: string, targets?: string[]): string {
  if (!s.includes('](')) return s;
  return s.replace(LINK_RE, (m: string, inner: string) => {
    targets?.push(m.slice((m[0] === '!' ? 2 : 1) + inner.length));
    return inner.includes('](') ? replaceLinks(inner) : inner;
  });
}
