/**
 * Issue 20: `doctor crawl` (no server: it opens the database itself) refuses bad include/exclude patterns
 * before queueing anything, and a pattern that backtracks forever on a backtracking engine does not hang it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHostileSite, type HostileSite } from './helpers/hostile-site.js';
import { tempDir } from './helpers/tmp.js';
import { doctor, type Json } from './helpers/doctor-process.js';

describe('doctor crawl and hostile patterns (issue 20)', () => {
  let site: HostileSite;
  before(async () => {
    site = await startHostileSite();
  });
  after(() => site.close());

  it('doctor crawl refuses bad patterns before queueing anything; a backtracking pattern does not hang it', async () => {
    const dir = tempDir();
    const refused = await doctor(dir, ['crawl', `${site.url}/links`, '--include', '*/links*', '--exclude', '/[/', '--json']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /exclude\.0: invalid regular expression in URL pattern \/\[\//);
    // (.|.)*Z and (.|.){30}Z take minutes to hours per link on a backtracking engine; the child is killed after 150 s
    const r = await doctor(dir, ['crawl', `${site.url}/links`, '--max-pages', '5', '--max-depth', '1', '--exclude', '/(.|.)*Z/', '--exclude', '/(.|.){30}Z/', '--json'], {}, 150_000);
    assert.equal(r.code, 0, r.stderr);
    const job = JSON.parse(r.stdout) as Json;
    assert.equal(job.pages_crawled, 5);
    assert.match((await doctor(dir, ['jobs'])).stdout, new RegExp(`^${job.job_id}\\s+completed[^\\n]*\\n?$`), 'the refused crawl queued nothing');
  });

  it('a malformed DUCKDB_JE_MALLOC_CONF is reported by DuckDB\'s allocator and ignored: the CLI still works', async () => {
    const dir = tempDir();
    const r = await doctor(dir, ['pages'], { DUCKDB_JE_MALLOC_CONF: 'garbage;;dirty_decay_ms:abc' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /jemalloc.*(Malformed|Invalid) conf/);
  });
});
