import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkMarkdown, chunkSearchText } from '../src/ingest/chunker.js';

const para = (n: number, word: string) => Array.from({ length: n }, (_, i) => `${word}${i}`).join(' ') + '.';

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
].join('\n\n');

describe('chunkMarkdown', () => {
  const chunks = chunkMarkdown(DOC, { maxChars: 600, overlap: 120 });

  it('respects the maximum size except for pieces of an oversized code block', () => {
    for (const c of chunks) assert.ok(c.text.length <= 600 + 60, `chunk of ${c.text.length} chars`);
  });

  it('never leaves a code fence open and never splits a small code block', () => {
    for (const c of chunks) {
      const fences = c.text.split('\n').filter((l) => /^\s{0,3}(```|~~~)/.test(l)).length;
      assert.equal(fences % 2, 0, `balanced fences in: ${c.text.slice(0, 80)}`);
    }
    const withApt = chunks.filter((c) => c.text.includes('apt-get install acme'));
    assert.ok(withApt.length >= 1);
    assert.ok(withApt.every((c) => c.text.includes('```bash\n# a comment that looks like a heading\napt-get install acme\n```')));
  });

  it('splits an oversized code block on lines, re-opening the fence with its language', () => {
    const ps = chunks.filter((c) => c.text.includes('Write-Host'));
    assert.ok(ps.length >= 2);
    for (const c of ps) assert.match(c.text, /```powershell\n[\s\S]*\n```$/);
    const lines = new Set(ps.flatMap((c) => c.text.split('\n')).filter((l) => l.startsWith('Write-Host')));
    assert.equal(lines.size, 80, 'every line of the script is kept');
  });

  it('knows each chunk heading path; a "#" inside code is not a heading', () => {
    const linux = chunks.find((c) => c.text.includes('linux0'))!;
    assert.deepEqual(linux.headingPath, ['Install', 'On Linux']);
    const trouble = chunks.find((c) => c.text.includes('trouble0'))!;
    assert.deepEqual(trouble.headingPath, ['Install', 'On Linux', 'Troubleshooting']);
    const win = chunks.find((c) => c.text.includes('Write-Host'))!;
    assert.deepEqual(win.headingPath, ['Install', 'On Windows']);
    assert.ok(!chunks.some((c) => c.headingPath.includes('a comment that looks like a heading')));
  });

  it('consecutive chunks of a section overlap; chunks are never empty; indexes run 0..n-1', () => {
    const linuxChunks = chunks.filter((c) => c.headingPath.join('/') === 'Install/On Linux');
    let overlapped = 0;
    for (let i = 1; i < linuxChunks.length; i++) {
      const prevTail = linuxChunks[i - 1]!.text.slice(-60);
      if (linuxChunks[i]!.text.includes(prevTail.trim().split(' ').slice(-3).join(' '))) overlapped++;
    }
    assert.ok(overlapped >= 1, 'at least one overlap between consecutive chunks');
    chunks.forEach((c, i) => {
      assert.equal(c.index, i);
      assert.ok(c.text.trim().length > 0);
    });
  });

  it('every word of the input is in some chunk', () => {
    const all = chunks.map((c) => c.text).join('\n');
    for (const w of DOC.split(/\s+/)) if (w) assert.ok(all.includes(w), `missing ${w}`);
  });

  it('empty input gives no chunks; title and headings are added to the search text', () => {
    assert.deepEqual(chunkMarkdown('   \n\n  '), []);
    const [c] = chunkMarkdown('## Options\n\nSet timeout.');
    assert.equal(chunkSearchText(c!, 'Config'), 'Config > Options\n\n## Options\n\nSet timeout.');
  });

  it('chunks 1 MB of Markdown quickly', () => {
    const big = Array.from({ length: 1000 }, (_, i) => `## Section ${i}\n\n${para(150, 'w')}`).join('\n\n');
    const t = performance.now();
    const out = chunkMarkdown(big);
    assert.ok(out.length >= 1000);
    assert.ok(performance.now() - t < 2000);
  });
});
