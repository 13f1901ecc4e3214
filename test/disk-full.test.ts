/**
 * A full disk, as a user meets it: the database lives on a small tmpfs (mounted here; the tests skip where
 * `mount` is not permitted, e.g. not root), the real CLI fills it, and after the tmpfs is made larger
 * everything committed before is still there.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from './helpers/tmp.js';
import { doctor } from './helpers/doctor-process.js';

const mounted: string[] = [];

/** A tmpfs of `mb` MiB at a new directory, or the reason there is none. */
function smallDisk(mb: number): string | { skip: string } {
  const dir = join(tempDir('doctor-disk-'), 'small');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    return { skip: `cannot mount a tmpfs here (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): needs root` };
  }
  mounted.push(dir);
  return dir;
}

function resize(dir: string, mb: number): void {
  execFileSync('mount', ['-o', `remount,size=${mb}m`, dir], { stdio: 'pipe' });
}

/** Text of distinct words (so that the database and its keyword index grow with it). */
function words(seed: number, n: number): string {
  const out: string[] = [];
  let x = seed * 7919 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(`w${x.toString(36)}`);
    if (i % 12 === 11) out.push('.\n\n');
  }
  return out.join(' ');
}

describe('a full disk', () => {
  after(() => {
    for (const dir of mounted) {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        /* already gone */
      }
    }
  });

  it('doctor add on a full disk says the disk is full and what to do (it printed DuckDB\'s "Failed to commit"); what was added before is kept', async (t) => {
    const data = smallDisk(8);
    if (typeof data !== 'string') return t.skip(data.skip);
    const first = join(tempDir(), 'first');
    mkdirSync(first);
    writeFileSync(join(first, 'kept.md'), '# Kept page\n\nThe zanzibarquokka appears only in this page.\n');
    const ok = await doctor(data, ['add', first]);
    assert.equal(ok.code, 0, ok.stderr);

    const big = join(tempDir(), 'big');
    mkdirSync(big);
    for (let i = 0; i < 300; i++) writeFileSync(join(big, `page-${i}.md`), `# Page ${i}\n\n${words(i, 3000)}\n`);
    const full = await doctor(data, ['add', big], {}, 60_000);
    assert.equal(full.code, 1, full.stdout + full.stderr);
    assert.match(full.stderr, /doctor: The disk holding \S+small is full \(no space left on device\): free space on it, or point DOCTOR_DB_PATH/);
    assert.doesNotMatch(full.stderr, /TransactionContext|Failed to commit/);

    resize(data, 64);
    const found = await doctor(data, ['search', 'zanzibarquokka']);
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /Kept page/);
  });
});
