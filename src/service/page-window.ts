/**
 * Where a search passage (a chunk) stands in its page's lines, and the part of the page to read around it: its
 * section, from the heading above it to the next heading of the same or a higher level, at most so many lines.
 * An agent that found a passage reads its surroundings with one get_doc_page call instead of paging through
 * the whole page from line 1.
 */

/** Most lines get_doc_page returns around a passage. */
export const AROUND_MAX_LINES = 200;

const HEADING_RE = /^(#{1,6})\s/;
const FENCE_RE = /^\s{0,3}(`{3,}|~{3,})/;

/** For each line, the level of the heading it is (1-6), or 0: lines inside fenced code are never headings. */
function headingLevels(lines: readonly string[]): Uint8Array {
  const levels = new Uint8Array(lines.length);
  let fence = '';
  lines.forEach((line, i) => {
    const f = FENCE_RE.exec(line);
    if (fence) {
      if (f && f[1]![0] === fence[0] && f[1]!.length >= fence.length && line.trim() === f[1]) fence = '';
      return;
    }
    if (f) {
      fence = f[1]!;
      return;
    }
    const h = HEADING_RE.exec(line);
    if (h) levels[i] = h[1]!.length;
  });
  return levels;
}

const nonEmpty = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/**
 * The 0-based line span of `chunk` in `lines`: where its first line is (where the next of its lines follows
 * too, when the first is repeated), to where its last line is. undefined when the page no longer holds it (a
 * chunk cut inside a long paragraph starts mid-line: then the line holding its start is taken).
 */
export function locateChunk(lines: readonly string[], chunk: string): { start: number; end: number } | undefined {
  const want = nonEmpty(chunk);
  if (want.length === 0) return undefined;
  const first = want[0]!;
  // lines are trimmed only where they can match (a page can hold millions of lines)
  const is = (i: number, text: string) => {
    const l = lines[i]!;
    return l.length >= text.length && l.length <= text.length + 64 && l.trim() === text;
  };
  const blank = (i: number) => lines[i]!.trim() === '';
  const follows = (i: number) => {
    if (want.length < 2) return true;
    for (let j = i + 1; j < Math.min(lines.length, i + 12); j++) {
      if (blank(j)) continue;
      const l = lines[j]!.trim();
      return l === want[1] || l.startsWith(want[1]!.slice(0, 80));
    }
    return false;
  };
  let start = -1;
  for (let i = 0; i < lines.length && start < 0; i++) if (is(i, first) && follows(i)) start = i;
  if (start < 0) {
    const head = first.slice(0, 80);
    start = lines.findIndex((l) => l.includes(head));
  }
  if (start < 0) return undefined;
  // its last line: the last of its lines found in order from the start (a cut line matches by its beginning)
  let end = start;
  let w = 1;
  for (let i = start + 1; i < lines.length && w < want.length; i++) {
    if (blank(i)) continue;
    const t = lines[i]!.trim();
    const l = want[w]!;
    if (t === l || t.startsWith(l.slice(0, 80)) || l.startsWith(t.slice(0, 80))) {
      end = i;
      w++;
    } else break;
  }
  return { start, end };
}

/**
 * The 0-based, inclusive line range to show around a passage at `span`: from its section's heading (the nearest
 * heading at or above it) to the line before the next heading of the same or a higher level, cut to `max` lines
 * that keep the passage in view (its start, and as much as fits after).
 */
export function sectionAround(lines: readonly string[], span: { start: number; end: number }, max = AROUND_MAX_LINES): { start: number; end: number } {
  const levels = headingLevels(lines);
  let start = span.start;
  while (start > 0 && levels[start] === 0) start--;
  // no heading above: from the top of the page to the next heading of any level
  const level = levels[start] || 6;
  let end = Math.max(span.end, start);
  while (end + 1 < lines.length && !(levels[end + 1]! > 0 && levels[end + 1]! <= level)) end++;
  if (end - start + 1 > max) {
    // keep up to 20 lines above the passage, then as much of it and after as fits
    start = Math.max(start, span.start - 20);
    end = Math.min(end, start + max - 1);
  }
  return { start, end };
}
