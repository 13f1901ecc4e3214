/**
 * Markdown-aware chunking: sections on headings first (each chunk knows its heading path), then
 * paragraphs packed up to `maxChars`, with `overlap` characters of trailing context carried into the next
 * chunk of the same section. Fenced code blocks are never cut unless one alone exceeds `maxChars`; then
 * it is split on lines and every piece re-opens and closes the fence with its language.
 */

export interface Chunk {
  text: string;
  headingPath: string[];
  index: number;
}

export interface ChunkOptions {
  maxChars?: number;
  overlap?: number;
  title?: string;
}

interface Block {
  text: string;
  code: boolean;
}

interface Section {
  headingPath: string[];
  blocks: Block[];
}

const HEADING_RE = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const FENCE_RE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;

/** Splits Markdown into sections (by heading) of blocks (paragraphs, fenced code, lists...). */
function sections(markdown: string): Section[] {
  const out: Section[] = [];
  const path: string[] = [];
  let cur: Section = { headingPath: [], blocks: [] };
  let para: string[] = [];
  const flush = () => {
    const text = para.join('\n').trim();
    if (text) cur.blocks.push({ text, code: false });
    para = [];
  };
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE_RE.exec(line);
    if (fence) {
      flush();
      const marker = fence[1]!;
      const body = [line];
      let j = i + 1;
      for (; j < lines.length; j++) {
        body.push(lines[j]!);
        if (lines[j]!.trim().startsWith(marker[0]!.repeat(marker.length)) && lines[j]!.trim().replace(/[`~]/g, '') === '') break;
      }
      if (j >= lines.length) body.push(marker); // unterminated fence: close it
      cur.blocks.push({ text: body.join('\n'), code: true });
      i = j;
      continue;
    }
    const h = HEADING_RE.exec(line);
    if (h) {
      flush();
      if (cur.blocks.length) out.push(cur);
      const level = h[1]!.length;
      path.length = Math.min(path.length, level - 1);
      while (path.length < level - 1) path.push('');
      path.push(h[2]!.trim());
      cur = { headingPath: path.filter(Boolean), blocks: [{ text: line.trim(), code: false }] };
      continue;
    }
    if (line.trim() === '') flush();
    else para.push(line);
  }
  flush();
  if (cur.blocks.length) out.push(cur);
  return out;
}

/** Splits an oversized block into pieces of at most `max` characters. */
function splitBlock(block: Block, max: number): Block[] {
  if (block.text.length <= max) return [block];
  if (block.code) {
    const lines = block.text.split('\n');
    const open = lines[0]!;
    const close = lines[lines.length - 1]!;
    const inner = lines.slice(1, -1);
    const room = Math.max(20, max - open.length - close.length - 2);
    const pieces: Block[] = [];
    let buf: string[] = [];
    let len = 0;
    const push = () => {
      if (buf.length) pieces.push({ text: [open, ...buf, close].join('\n'), code: true });
      buf = [];
      len = 0;
    };
    for (let line of inner) {
      while (line.length > room) {
        push();
        pieces.push({ text: [open, line.slice(0, room), close].join('\n'), code: true });
        line = line.slice(room);
      }
      if (len + line.length + 1 > room) push();
      buf.push(line);
      len += line.length + 1;
    }
    push();
    return pieces;
  }
  // prose: sentences, then lines, then hard cuts
  const parts = block.text.split(/(?<=[.!?])\s+|\n/);
  const out: Block[] = [];
  let buf = '';
  for (let p of parts) {
    while (p.length > max) {
      if (buf) out.push({ text: buf, code: false });
      buf = '';
      out.push({ text: p.slice(0, max), code: false });
      p = p.slice(max);
    }
    if (buf && buf.length + 1 + p.length > max) {
      out.push({ text: buf, code: false });
      buf = '';
    }
    buf = buf ? `${buf} ${p}` : p;
  }
  if (buf.trim()) out.push({ text: buf, code: false });
  return out;
}

/** The trailing context carried into the next chunk: whole prose blocks/sentences, never code. */
function overlapOf(blocks: Block[], overlap: number): Block[] {
  if (overlap <= 0) return [];
  const out: Block[] = [];
  let len = 0;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    if (b.code) break;
    if (len + b.text.length > overlap) {
      if (out.length === 0) {
        // take the last sentences of a long paragraph
        const sentences = b.text.split(/(?<=[.!?])\s+/);
        let tail = '';
        for (let j = sentences.length - 1; j >= 0; j--) {
          const next = tail ? `${sentences[j]} ${tail}` : sentences[j]!;
          if (next.length > overlap) break;
          tail = next;
        }
        if (!tail) {
          // no whole sentence fits: the trailing words
          const words = b.text.split(/\s+/);
          for (let j = words.length - 1; j > 0; j--) {
            const next = tail ? `${words[j]} ${tail}` : words[j]!;
            if (next.length > overlap) break;
            tail = next;
          }
          if (tail) tail = `…${tail}`;
        }
        if (tail && tail !== b.text) out.unshift({ text: tail, code: false });
      }
      break;
    }
    out.unshift(b);
    len += b.text.length + 2;
  }
  // never carry everything: the next chunk must bring new content
  return out.length === blocks.length ? out.slice(1) : out;
}

export function chunkMarkdown(markdown: string, opts: ChunkOptions = {}): Chunk[] {
  const max = Math.max(100, opts.maxChars ?? 1000);
  const overlap = Math.max(0, Math.min(opts.overlap ?? 200, Math.floor(max / 2)));
  const chunks: Chunk[] = [];
  for (const section of sections(markdown)) {
    const blocks = section.blocks.flatMap((b) => splitBlock(b, max));
    let cur: Block[] = [];
    let len = 0;
    let fresh = false; // whether `cur` holds content not yet emitted
    let emitted: Block[] = [];
    const size = (bs: Block[]) => bs.reduce((n, b) => n + b.text.length + 2, 0);
    const emit = () => {
      if (!fresh) return;
      const text = cur.map((b) => b.text).join('\n\n').trim();
      if (text) chunks.push({ text, headingPath: section.headingPath, index: chunks.length });
      emitted = cur;
      cur = overlapOf(cur, overlap);
      len = size(cur);
      fresh = false;
    };
    for (const b of blocks) {
      if (len > 0 && len + b.text.length > max) emit();
      if (len > 0 && len + b.text.length > max) {
        // the full overlap does not fit with this block: carry a shorter one, or none
        cur = overlapOf(emitted, Math.max(0, max - b.text.length - 4));
        len = size(cur);
      }
      cur.push(b);
      len += b.text.length + 2;
      fresh = true;
    }
    emit();
  }
  return chunks;
}

/** What is embedded and keyword-indexed for a chunk: page title and heading path give page-level context. */
export function chunkSearchText(chunk: Chunk, title: string | null | undefined): string {
  const head = [title, ...chunk.headingPath].filter((s): s is string => !!s && s.length > 0);
  const dedup = head.filter((h, i) => head.indexOf(h) === i);
  return dedup.length ? `${dedup.join(' > ')}\n\n${chunk.text}` : chunk.text;
}
