/**
 * Markdown-aware chunking: sections on headings first (each chunk knows its heading path), then blocks
 * (paragraphs, lists, tables, fenced code) packed up to `maxChars`, with up to `overlap` characters of
 * trailing prose carried into the next chunk of the same section. Fenced code is never cut unless one block
 * alone exceeds `maxChars`; then it is split on lines and every piece re-opens and closes the fence with its
 * language (tables likewise repeat their header row). A heading always travels with the text that follows it.
 *
 * Bounded for any input (see ./bounds.ts): heading texts and paths are clipped, and only the first
 * MAX_SECTIONS headings start sections (later ones stay as lines of text), so a page of 50,000 headings
 * does not become 50,000 chunks.
 */
import { headingTitle } from '../../text/markdown-heading.js';
import { clipHeadingPath, MAX_HEADING_CHARS, MAX_SECTIONS } from './bounds.js';

export interface Chunk {
  text: string;
  /** Headings above the chunk, outermost first: each within MAX_HEADING_CHARS, joined within MAX_HEADING_PATH_CHARS. */
  headingPath: string[];
  index: number;
}

export interface ChunkOptions {
  /** Largest chunk in characters (default 1000, at least 100). */
  maxChars?: number;
  /** Trailing context carried into the next chunk of a section (default 200, at most maxChars / 2). */
  overlap?: number;
  /** Page title: not part of the chunks; give it to `chunkSearchText`. Accepted so callers can pass it along. */
  title?: string;
}

type Kind = 'heading' | 'prose' | 'code' | 'table';

interface Block {
  text: string;
  kind: Kind;
}

interface Section {
  headingPath: string[];
  level: number;
  blocks: Block[];
}

const ATX_RE = /^ {0,3}(#{1,6})[ \t]+(.*)$/;
const FENCE_OPEN_RE = /^(\s*)(`{3,}|~{3,})(.*)$/;
const TABLE_DELIMITER_RE = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

/** Splits Markdown into sections (by heading) of blocks. Headings with no text of their own join the next. */
function parseSections(markdown: string): Section[] {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const sections: Section[] = [];
  const path: string[] = [];
  let cur: Section = { headingPath: [], level: 0, blocks: [] };
  let para: string[] = [];
  let headings = 0;

  const flush = () => {
    if (para.length === 0) return;
    const text = para.join('\n').trimEnd();
    const isTable = para.length >= 2 && para[0]!.includes('|') && para[1]!.length < 2000 && TABLE_DELIMITER_RE.test(para[1]!);
    para = [];
    if (!text.trim()) return;
    cur.blocks.push({ text, kind: isTable ? 'table' : 'prose' });
  };
  const startSection = (level: number, title: string, line: string) => {
    flush();
    headings++;
    path.length = Math.min(path.length, level - 1);
    while (path.length < level - 1) path.push('');
    path.push(title);
    const heading: Block = { text: line.trim(), kind: 'heading' };
    const onlyHeadings = cur.blocks.length > 0 && cur.blocks.every((b) => b.kind === 'heading');
    if (onlyHeadings && level > cur.level) {
      // "## A" directly followed by "### B": A has no text of its own; it travels with B's first chunk
      cur = { headingPath: clipHeadingPath(path.filter(Boolean)), level, blocks: [...cur.blocks, heading] };
      return;
    }
    if (cur.blocks.length) sections.push(cur);
    cur = { headingPath: clipHeadingPath(path.filter(Boolean)), level, blocks: [heading] };
  };

  let i = 0;
  // YAML front matter is one prose block (its "---" must not read as a setext underline)
  if (lines[0] === '---') {
    const end = lines.indexOf('---', 1);
    if (end > 0 && end < 200) {
      cur.blocks.push({ text: lines.slice(0, end + 1).join('\n'), kind: 'prose' });
      i = end + 1;
    }
  }
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE_OPEN_RE.exec(line);
    if (fence && !(fence[2]![0] === '`' && fence[3]!.includes('`'))) {
      flush();
      const marker = fence[2]!;
      const body = [line];
      let j = i + 1;
      let closed = false;
      for (; j < lines.length; j++) {
        const l = lines[j]!;
        body.push(l);
        const t = l.trim();
        if (t.length >= marker.length && t[0] === marker[0] && t === marker[0]!.repeat(t.length)) {
          closed = true;
          break;
        }
      }
      if (!closed) body.push(fence[1] + marker); // unterminated fence: close it so every chunk stays valid
      cur.blocks.push({ text: body.join('\n'), kind: 'code' });
      i = j;
      continue;
    }
    const atx = headings < MAX_SECTIONS ? ATX_RE.exec(line) : null;
    if (atx) {
      const title = headingTitle(atx[2]!, MAX_HEADING_CHARS);
      if (title) {
        startSection(atx[1]!.length, title, line);
        continue;
      }
    }
    // setext heading: a single line of text underlined with === or ---
    if (headings < MAX_SECTIONS && para.length === 1 && /^ {0,3}(=+|-+)\s*$/.test(line) && !/^\s*([-*+>|]|\d+[.)])\s/.test(para[0]!)) {
      const text = para[0]!;
      para = [];
      const title = headingTitle(text, MAX_HEADING_CHARS);
      if (title) {
        startSection(line.trim()[0] === '=' ? 1 : 2, title, `${text}\n${line}`);
        continue;
      }
      para = [text];
    }
    if (line.trim() === '') flush();
    else para.push(line);
  }
  flush();
  if (cur.blocks.length) sections.push(cur);
  return sections;
}

/** Cuts `s` into pieces of at most `room` characters, at whitespace when there is some in the second half. */
function hardCut(s: string, room: number): string[] {
  const out: string[] = [];
  let start = 0;
  while (s.length - start > room) {
    let end = start + room;
    const from = start + Math.floor(room / 2);
    const space = s.slice(from, end + 1).lastIndexOf(' ');
    if (space > 0) end = from + space;
    else if (/[\uDC00-\uDFFF]/.test(s[end] ?? '')) end--; // do not split a surrogate pair
    out.push(s.slice(start, end));
    start = s[end] === ' ' ? end + 1 : end;
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

/** Units of prose: lines, then sentences of over-long lines, then hard cuts; each with its joiner. */
function proseUnits(text: string, room: number): { text: string; sep: string }[] {
  const units: { text: string; sep: string }[] = [];
  for (const line of text.split('\n')) {
    if (line.length <= room) {
      units.push({ text: line, sep: '\n' });
      continue;
    }
    let sep = '\n';
    for (const sentence of line.split(/(?<=[.!?;:。])\s+/)) {
      for (const piece of sentence.length <= room ? [sentence] : hardCut(sentence, room)) {
        units.push({ text: piece, sep });
        sep = ' ';
      }
    }
  }
  return units;
}

/** Greedy packing of units into pieces of at most `room` characters (the first at most `first`). */
function pack(units: { text: string; sep: string }[], room: number, first = room): string[] {
  const pieces: string[] = [];
  let buf = '';
  let limit = first;
  for (const u of units) {
    if (buf && buf.length + u.sep.length + u.text.length > limit) {
      if (buf.trim()) pieces.push(buf);
      buf = '';
      limit = room;
    }
    buf = buf ? buf + u.sep + u.text : u.text;
  }
  if (buf.trim()) pieces.push(buf);
  return pieces;
}

/**
 * Splits a block into pieces of at most `max` characters (the first at most `first`). Prose pieces are kept
 * to `proseMax`, leaving room for the overlap that the next chunk will carry.
 */
function splitBlock(block: Block, max: number, first = max, proseMax = max): Block[] {
  if (block.text.length <= first) return [block];
  if (block.kind === 'code' || block.kind === 'table') {
    const lines = block.text.split('\n');
    const head = block.kind === 'code' ? [lines[0]!] : lines.slice(0, 2);
    const tail = block.kind === 'code' ? [lines[lines.length - 1]!] : [];
    const body = lines.slice(head.length, lines.length - tail.length);
    const frame = head.join('\n').length + tail.join('\n').length + 2;
    if (frame <= max / 2 && body.length > 0) {
      // re-open and close the fence (repeat the table header) around every piece
      const units = body.map((text) => ({ text, sep: '\n' }));
      const roomFirst = Math.max(1, first - frame);
      const fine = units.flatMap((u) => (u.text.length <= roomFirst ? [u] : hardCut(u.text, roomFirst).map((t) => ({ text: t, sep: '\n' }))));
      return pack(fine, max - frame, roomFirst).map((t) => ({ text: [...head, t, ...tail].join('\n'), kind: block.kind }));
    }
    // a frame too large to repeat: cut like prose
  }
  const room = Math.min(proseMax, max);
  const firstRoom = Math.min(first, room);
  return pack(proseUnits(block.text, firstRoom), room, firstRoom).map((t) => ({ text: t, kind: 'prose' as Kind }));
}

/** Trailing context for the next chunk: whole prose blocks, else the last sentences or words; never code. */
function overlapOf(blocks: Block[], limit: number): Block[] {
  if (limit <= 0 || blocks.length === 0) return [];
  const out: Block[] = [];
  let len = 0;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    if (b.kind === 'code' || b.kind === 'table') break;
    const add = b.text.length + (out.length ? 2 : 0);
    if (len + add <= limit) {
      out.unshift(b);
      len += add;
      continue;
    }
    if (out.length === 0 && b.kind === 'prose') {
      const tail = tailOf(b.text, limit);
      if (tail) out.push({ text: tail, kind: 'prose' });
    }
    break;
  }
  // never the whole previous chunk again: the next one must bring new content
  if (out.length === blocks.length && out[0] === blocks[0]) out.shift();
  return out;
}

/** The last whole sentences (else words) of `text` within `limit` characters. */
function tailOf(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const region = text.slice(text.length - limit);
  const boundary = /[.!?;:。]\s+(?=\S)|\n(?=\S)/.exec(region);
  if (boundary) return region.slice(boundary.index + boundary[0].length).trim();
  const space = region.search(/\s/);
  return space >= 0 ? region.slice(space).trim() : '';
}

export function chunkMarkdown(markdown: string, opts: ChunkOptions = {}): Chunk[] {
  const max = Math.max(100, Math.floor(opts.maxChars ?? 1000));
  const overlap = Math.max(0, Math.min(Math.floor(opts.overlap ?? 200), Math.floor(max / 2)));
  const chunks: Chunk[] = [];
  // A chunk repeating an earlier one of the page (same headings, same text) is left out: it adds nothing to
  // search, and identical vectors are what an HNSW index inserts worst (8,800 copies of one chunk, from a page
  // of one repeated phrase, kept usearch's worker busy for ~200 s of CPU and `doctor crawl` from exiting).
  const seen = new Set<string>();
  for (const section of parseSections(markdown)) {
    const pieces = sectionPieces(section.blocks, max, overlap > 0 ? Math.max(Math.floor(max / 2), max - overlap - 2) : max);
    let cur: Block[] = [];
    let len = 0;
    let fresh = false; // whether `cur` holds content not yet emitted
    const emit = () => {
      const text = cur.map((b) => b.text).join('\n\n').trim();
      const key = fresh && text ? `${section.headingPath.join('\u0000')}\u0001${text}` : '';
      if (key && !seen.has(key)) {
        seen.add(key);
        chunks.push({ text, headingPath: section.headingPath, index: chunks.length });
      }
      fresh = false;
    };
    const sizeOf = (bs: Block[]) => bs.reduce((n, b, i) => n + b.text.length + (i ? 2 : 0), 0);
    for (const p of pieces) {
      if (cur.length && len + 2 + p.text.length > max) {
        const done = cur;
        if (fresh) emit();
        cur = overlapOf(done, overlap);
        len = sizeOf(cur);
        if (cur.length && len + 2 + p.text.length > max) {
          // the full overlap does not fit with this piece: carry a shorter one, or none
          cur = overlapOf(done, max - p.text.length - 2);
          len = sizeOf(cur);
        }
      }
      len += (cur.length ? 2 : 0) + p.text.length;
      cur.push(p);
      fresh = true;
    }
    emit();
  }
  return chunks;
}

/** Blocks of a section cut to size, with the leading heading(s) glued to the first piece of content. */
function sectionPieces(blocks: Block[], max: number, proseMax: number): Block[] {
  let h = 0;
  while (h < blocks.length && blocks[h]!.kind === 'heading') h++;
  const heading = blocks.slice(0, h).map((b) => b.text).join('\n\n');
  const rest = blocks.slice(h);
  const out: Block[] = [];
  if (heading && heading.length <= max / 2 && rest.length) {
    const [firstBlock, ...others] = rest;
    const room = max - heading.length - 2;
    const [firstPiece, ...more] = splitBlock(firstBlock!, max, room, proseMax);
    const glued: Block = { text: `${heading}\n\n${firstPiece!.text}`, kind: firstPiece!.kind === 'prose' ? 'prose' : 'code' };
    out.push(glued, ...more);
    for (const b of others) out.push(...splitBlock(b, max, max, proseMax));
    return out;
  }
  for (const b of blocks) out.push(...splitBlock(b, max, max, proseMax));
  return out;
}

/** What is embedded and keyword-indexed for a chunk: page title and heading path give page-level context. */
export function chunkSearchText(chunk: Chunk, title: string | null | undefined): string {
  const head = [title?.trim(), ...chunk.headingPath].filter((s): s is string => !!s && s.length > 0);
  const dedup = head.filter((h, i) => head.indexOf(h) === i);
  return dedup.length ? `${dedup.join(' > ')}\n\n${chunk.text}` : chunk.text;
}
