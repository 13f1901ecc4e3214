import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkMarkdown, chunkSearchText, type Chunk } from '../src/ingest/extract/chunker.js';
import { MAX_HEADING_CHARS, MAX_HEADING_PATH_CHARS, MAX_SECTIONS } from '../src/ingest/extract/bounds.js';
import { cpuMs } from './helpers/cpu-time.js';

const para = (n: number, word: string) => Array.from({ length: n }, (_, i) => `${word}${i}`).join(' ') + '.';
const sentences = (n: number, word: string) => Array.from({ length: n }, (_, i) => `The ${word} sentence number ${i} ends here.`).join(' ');

/** Whether every fence opened in `text` is closed again (``` and ~~~, any length, indented or not). */
function fencesBalanced(text: string): boolean {
  let open: string | null = null;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (open) {
      if (t[0] === open[0] && t.length >= open.length && t === open[0]!.repeat(t.length)) open = null;
    } else {
      const m = /^(`{3,}|~{3,})/.exec(t);
      if (m) open = m[1]!;
    }
  }
  return open === null;
}

function words(s: string): string[] {
  return s.split(/\s+/).filter(Boolean);
}

const DOC = [
  '# Install',
  para(40, 'intro'),
  '## On Linux',
  para(60, 'linux'),
  para(60, 'distro'),
  '```bash\n# a comment that looks like a heading\napt-get install acme\n```',
  para(50, 'after'),
  '### Troubleshooting',
  para(30, 'trouble'),
  '## On Windows',
  '```powershell\n' + Array.from({ length: 80 }, (_, i) => `Write-Host "line ${i} of a long script"`).join('\n') + '\n```',
  '## Options',
  '| Option | Default |\n| --- | --- |\n' + Array.from({ length: 40 }, (_, i) => `| option_${i} | value ${i} |`).join('\n'),
].join('\n\n');

describe('chunkMarkdown on a documentation page', () => {
  const chunks = chunkMarkdown(DOC, { maxChars: 600, overlap: 120 });

  it('respects the maximum size (oversized code and tables are split to fit)', () => {
    for (const c of chunks) assert.ok(c.text.length <= 600, `chunk of ${c.text.length} chars`);
  });

  it('never leaves a code fence open and never splits a small code block', () => {
    for (const c of chunks) assert.ok(fencesBalanced(c.text), `balanced fences in: ${c.text.slice(0, 80)}`);
    const withApt = chunks.filter((c) => c.text.includes('apt-get install acme'));
    assert.ok(withApt.length >= 1);
    assert.ok(withApt.every((c) => c.text.includes('```bash\n# a comment that looks like a heading\napt-get install acme\n```')));
  });

  it('splits an oversized code block on lines, re-opening the fence with its language in every piece', () => {
    const ps = chunks.filter((c) => c.text.includes('Write-Host'));
    assert.ok(ps.length >= 2);
    for (const c of ps) assert.match(c.text, /```powershell\n(Write-Host "line \d+ of a long script"\n)+```$/);
    const lines = ps.flatMap((c) => c.text.split('\n')).filter((l) => l.startsWith('Write-Host'));
    assert.equal(new Set(lines).size, 80, 'every line of the script is kept');
    assert.equal(lines.length, 80, 'and none is repeated (no overlap inside code)');
  });

  it('splits an oversized table on rows, repeating the header row', () => {
    const ts = chunks.filter((c) => c.text.includes('option_'));
    assert.ok(ts.length >= 2);
    for (const c of ts) assert.match(c.text, /\| Option \| Default \|\n\| --- \| --- \|\n\| option_\d+/);
  });

  it('knows each chunk heading path; a "#" inside code is not a heading; a heading stays with its text', () => {
    const linux = chunks.find((c) => c.text.includes('linux0'))!;
    assert.deepEqual(linux.headingPath, ['Install', 'On Linux']);
    assert.match(linux.text, /^## On Linux\n\nlinux0/);
    const trouble = chunks.find((c) => c.text.includes('trouble0'))!;
    assert.deepEqual(trouble.headingPath, ['Install', 'On Linux', 'Troubleshooting']);
    const win = chunks.filter((c) => c.text.includes('Write-Host'));
    assert.ok(win.every((c) => c.headingPath.join('/') === 'Install/On Windows'));
    assert.match(win[0]!.text, /^## On Windows\n\n```powershell\n/, 'the heading travels with the first code piece');
    assert.ok(!chunks.some((c) => c.headingPath.includes('a comment that looks like a heading')));
    assert.ok(!chunks.some((c) => /^#+ [^\n]*$/.test(c.text)), 'no chunk is a lone heading');
  });

  it('consecutive chunks of a section overlap with whole sentences or words; never a whole chunk again', () => {
    const linuxChunks = chunks.filter((c) => c.headingPath.join('/') === 'Install/On Linux');
    assert.ok(linuxChunks.length >= 3);
    let overlapped = 0;
    for (let i = 1; i < linuxChunks.length; i++) {
      const prev = linuxChunks[i - 1]!.text;
      const next = linuxChunks[i]!.text;
      assert.ok(!prev.includes(next) && !next.includes(prev), 'no chunk repeats another');
      const firstWord = words(next)[0]!;
      if (!next.startsWith('```') && prev.includes(firstWord)) {
        overlapped++;
        const shared = next.slice(0, next.indexOf('\n\n') > 0 ? next.indexOf('\n\n') : 120);
        assert.ok(shared.length <= 120, 'overlap is at most `overlap` characters');
        assert.ok(prev.endsWith(shared), 'the overlap is the trailing context of the previous chunk');
      }
    }
    assert.ok(overlapped >= 1, 'at least one overlap between consecutive chunks');
  });

  it('chunks are never empty and indexes run 0..n-1', () => {
    chunks.forEach((c, i) => {
      assert.equal(c.index, i);
      assert.ok(c.text.trim().length > 0);
    });
  });

  it('every word of the input is in some chunk', () => {
    const all = new Set(chunks.flatMap((c) => words(c.text)));
    for (const w of words(DOC)) assert.ok(all.has(w), `missing ${w}`);
  });
});

describe('chunkMarkdown details', () => {
  it('empty input gives no chunks; a small page is one chunk', () => {
    assert.deepEqual(chunkMarkdown('   \n\n  '), []);
    assert.deepEqual(chunkMarkdown('## Options\n\nSet timeout.'), [{ text: '## Options\n\nSet timeout.', headingPath: ['Options'], index: 0 }]);
  });

  it('a heading path shows headings as read, without the backslashes Markdown conversion put before punctuation', () => {
    // sqlite.org's numbered headings convert to "## 3\\. Required ..." (a bare "3." would start a list)
    const chunks = chunkMarkdown('# 1\\. Intro\n\nText.\n\n## 3\\. Indexes \\(required\\) \\- a\\+b\\!\n\nMore text.\n\n### C:\\\\path \\*not\\* a\\_b\n\nEnd.');
    assert.deepEqual(
      chunks.map((c) => c.headingPath),
      [['1. Intro'], ['1. Intro', '3. Indexes (required) - a+b!'], ['1. Intro', '3. Indexes (required) - a+b!', 'C:\\path *not* a_b']],
    );
  });

  it('long paragraphs split on sentences; overlap carries whole sentences', () => {
    const text = sentences(40, 'quick');
    const chunks = chunkMarkdown(text, { maxChars: 300, overlap: 100 });
    assert.ok(chunks.length >= 5);
    for (const c of chunks) {
      assert.ok(c.text.length <= 300);
      assert.match(c.text, /^The quick sentence number \d+ ends here\./, 'starts at a sentence');
      assert.match(c.text, /ends here\.$/, 'ends at a sentence');
    }
    for (let i = 1; i < chunks.length; i++) {
      const first = /^The quick sentence number (\d+)/.exec(chunks[i]!.text)![1];
      assert.ok(chunks[i - 1]!.text.includes(`number ${first} ends`), 'starts with the end of the previous chunk');
    }
  });

  it('a word-free blob is hard-cut to size; a long line of words is cut between words', () => {
    // period 23: no two 1000-character pieces alike (identical chunks of a page are kept once)
    const blob = chunkMarkdown(Array.from({ length: 5000 }, (_, i) => String.fromCharCode(97 + (i % 23))).join(''), { maxChars: 1000, overlap: 0 });
    assert.deepEqual(blob.map((c) => c.text.length), [1000, 1000, 1000, 1000, 1000]);
    assert.deepEqual(chunkMarkdown('x'.repeat(5000), { maxChars: 1000, overlap: 0 }).map((c) => c.text.length), [1000], 'five identical pieces: one chunk');
    const line = Array.from({ length: 2000 }, (_, i) => `w${i}`).join(' ');
    const chunks = chunkMarkdown(line, { maxChars: 500, overlap: 0 });
    const got = chunks.flatMap((c) => words(c.text));
    assert.deepEqual(got, words(line), 'every word whole, in order, once');
  });

  it('~~~ fences, indented fences and unterminated fences', () => {
    const md = `# T\n\n~~~python\n# not a heading\n\n\nx = 1\n~~~\n\n- item\n\n    \`\`\`js\n    let a;\n\n    # still code\n    \`\`\`\n\n\`\`\`sh\necho never closed\n# nor a heading`;
    const chunks = chunkMarkdown(md, { maxChars: 1000 });
    assert.equal(chunks.length, 1);
    assert.deepEqual(chunks[0]!.headingPath, ['T']);
    assert.ok(fencesBalanced(chunks[0]!.text), 'the unterminated fence is closed');
    assert.ok(chunks[0]!.text.includes('~~~python\n# not a heading\n\n\nx = 1\n~~~'), 'blank lines inside code are kept');
  });

  it('setext headings, headings without text of their own, and Markdown inside headings', () => {
    const md = `Guide\n=====\n\nIntro text.\n\n## [Setup](#setup)\n\n### \`pip\` **install**\n\nRun pip.\n\nLater\n-----\n\nMore.`;
    const chunks = chunkMarkdown(md);
    assert.deepEqual(
      chunks.map((c) => c.headingPath),
      [['Guide'], ['Guide', 'Setup', 'pip install'], ['Guide', 'Later']],
    );
    assert.match(chunks[1]!.text, /^## \[Setup\]\(#setup\)\n\n### `pip` \*\*install\*\*\n\nRun pip\.$/, 'the empty parent heading joins its child');
  });

  it('a heading followed by a long paragraph: the first chunk holds the heading and fits', () => {
    const md = `## Big\n\n${sentences(60, 'big')}`;
    const chunks = chunkMarkdown(md, { maxChars: 400, overlap: 0 });
    assert.match(chunks[0]!.text, /^## Big\n\nThe big sentence number 0/);
    for (const c of chunks) assert.ok(c.text.length <= 400);
  });

  it('random documents keep every invariant', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    for (let doc = 0; doc < 60; doc++) {
      const parts: string[] = [];
      for (let b = 0; b < 30; b++) {
        const kind = pick(['h', 'p', 'p', 'p', 'code', 'list', 'long']);
        const id = `${doc}_${b}`;
        if (kind === 'h') parts.push(`${'#'.repeat(1 + Math.floor(rand() * 4))} Heading ${id}`);
        else if (kind === 'p') parts.push(para(5 + Math.floor(rand() * 80), `p${id}x`));
        else if (kind === 'long') parts.push(sentences(10 + Math.floor(rand() * 60), `s${id}`));
        else if (kind === 'list') parts.push(Array.from({ length: 3 + Math.floor(rand() * 30) }, (_, i) => `- item${id}x${i}`).join('\n'));
        else {
          const fence = pick(['```', '~~~', '````']);
          const lines = Array.from({ length: 1 + Math.floor(rand() * 60) }, (_, i) => `code${id}x${i} = ${i} # comment`);
          parts.push(`${fence}${pick(['', 'py', 'bash'])}\n${lines.join('\n')}\n${fence}`);
        }
      }
      const md = parts.join('\n\n');
      const max = pick([200, 400, 1000]);
      const overlap = pick([0, 50, 200]);
      const chunks: Chunk[] = chunkMarkdown(md, { maxChars: max, overlap });
      const all = new Set(chunks.flatMap((c) => words(c.text)));
      for (const w of words(md)) assert.ok(all.has(w), `doc ${doc}: missing ${w}`);
      chunks.forEach((c, i) => {
        assert.equal(c.index, i);
        assert.ok(c.text.trim(), 'no empty chunk');
        assert.ok(c.text.length <= max, `doc ${doc}: ${c.text.length} > ${max}`);
        assert.ok(fencesBalanced(c.text), `doc ${doc}: open fence in chunk ${i}`);
        if (i > 0 && chunks[i - 1]!.headingPath.join('/') === c.headingPath.join('/')) assert.ok(!chunks[i - 1]!.text.includes(c.text), 'no repeated chunk');
      });
    }
  });
});

describe('chunkSearchText and speed', () => {
  it('adds the page title and heading path (without repeating the title)', () => {
    const [c] = chunkMarkdown('## Options\n\nSet timeout.');
    assert.equal(chunkSearchText(c!, 'Config'), 'Config > Options\n\n## Options\n\nSet timeout.');
    const [d] = chunkMarkdown('# Config\n\n## Options\n\nSet timeout.');
    assert.equal(chunkSearchText(d!, 'Config'), 'Config > Options\n\n# Config\n\n## Options\n\nSet timeout.');
    assert.equal(chunkSearchText({ text: 'x', headingPath: [], index: 0 }, ''), 'x');
  });

  it('chunks 1 MB of Markdown in well under a second', () => {
    const section = (i: number) => `## Section ${i}\n\n${para(60, 'w')}\n\n${sentences(8, 'fast')}\n\n\`\`\`js\nconst x = ${i};\n\`\`\`\n\n- item a\n- item b`;
    const big = Array.from({ length: 2200 }, (_, i) => section(i)).join('\n\n');
    assert.ok(big.length > 1_000_000);
    chunkMarkdown(big); // warm-up
    const { value: out, ms } = cpuMs(() => chunkMarkdown(big));
    assert.ok(out.length >= 2200);
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms of CPU`);
  });

  it('hostile input (5 MB line, megabytes of "#", "|" or fences) is handled quickly', () => {
    for (const md of ['word '.repeat(1_000_000), '#'.repeat(5_000_000), `| a |\n|${'-|'.repeat(2_000_000)}`, '```\n'.repeat(100_001), '# h\n'.repeat(50_000)]) {
      const { value: out, ms } = cpuMs(() => chunkMarkdown(md));
      assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms of CPU`);
      assert.ok(out.every((c) => c.text.length <= 1000 && fencesBalanced(c.text)));
    }
  });
});

describe('chunking is bounded whatever the Markdown (issue 20)', () => {
  it('heading texts are cut to MAX_HEADING_CHARS and a heading path to MAX_HEADING_PATH_CHARS', () => {
    const md = [1, 2, 3, 4, 5, 6].map((l) => `${'#'.repeat(l)} ${String.fromCharCode(64 + l).repeat(500_000)}`).join('\n\n') + '\n\nThe text under six huge headings.';
    const chunks = chunkMarkdown(md);
    const last = chunks.at(-1)!;
    assert.match(last.text, /The text under six huge headings\./);
    assert.equal(last.headingPath.length, 6);
    assert.ok(last.headingPath.every((h) => h.length <= MAX_HEADING_CHARS), last.headingPath.map((h) => h.length).join());
    assert.ok(last.headingPath.join(' > ').length <= MAX_HEADING_PATH_CHARS, String(last.headingPath.join(' > ').length));
    assert.ok(chunks.every((c) => c.headingPath.join(' > ').length <= MAX_HEADING_PATH_CHARS));
  });

  it(`only the first ${MAX_SECTIONS} headings start sections: 50,000 short sections do not make 50,000 chunks`, () => {
    const md = Array.from({ length: 50_000 }, (_, i) => `## Heading ${i}\n\ntext ${i}`).join('\n\n');
    const chunks = chunkMarkdown(md, { maxChars: 1000 });
    assert.ok(chunks.length < MAX_SECTIONS + 2000, `${chunks.length} chunks`);
    assert.deepEqual(chunks[0]!.headingPath, ['Heading 0']);
    const tail = chunks.at(-1)!;
    assert.match(tail.text, /## Heading 49999\n\ntext 49999$/, 'later headings stay in the text');
    assert.deepEqual(tail.headingPath, [`Heading ${MAX_SECTIONS - 1}`]);
  });
});
