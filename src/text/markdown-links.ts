/**
 * Inline Markdown links and images reduced to their text: `[text](dest "title")` -> `text`, `![alt](src)` -> `alt`.
 *
 * Follows CommonMark's inline link syntax as far as Doctor's Markdown writer and hand-written Markdown use it:
 * a destination in `<...>`, or with backslash-escaped or balanced parentheses (`wiki/Foo_(bar)`); an optional
 * title in `"..."`, `'...'` or `(...)`, which may hold parentheses and escaped quotes (Sphinx puts a module's
 * summary there: `"optparse: Command-line option parsing library. (deprecated)"`); link text with one level of
 * nested brackets (`[a[0]](#x)`) or an image (`[![logo](l.png)](/)`). Each alternative starts on its own
 * character, and each run of whitespace is taken whole (`(?=(\s*))\2`: a lookahead's match is never given back),
 * so a match never backtracks more than linearly: `\s*`, `\s+` and `\s*` splitting one run between them took
 * time quadratic in it (`[a](` + 8,000 spaces in a heading: 0.16 s a heading).
 */
const LINK_RE =
  /!?\[((?:[^[\]\\]|\\.|\[(?:[^[\]\\]|\\.)*\])*)\]\((?=(\s*))\2(?:<(?:[^<>\n\\]|\\.)*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*)(?:(?=(\s+))\3(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?(?=(\s*))\4\)/g;

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
