import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { crawlProgress } from '../src/cli/progress.js';
import type { JobProgress } from '../src/service/index.js';

function progress(over: Partial<JobProgress>): JobProgress {
  return {
    job_id: 'j', status: 'running', completed: false, pages_crawled: 0, pages_discovered: 1, pages_skipped: 0, pages_total: 1,
    progress_percent: 0, max_pages: 1000, url: 'http://x/', tags: [], error_message: null, skipped: [],
    created_at: '', updated_at: '', ...over,
  };
}

describe('crawl progress when stderr is not a terminal', () => {
  it('prints a line at most every 2 s, then always a final summary', () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(...String(chunk).split('\n').filter(Boolean)), cb()) });
    let clock = 0;
    const view = crawlProgress({ stream, now: () => clock });
    // a crawl of 600 pages polled every 300 ms for 60 s: one line per page before, now ~30
    for (let i = 1; i <= 200; i++) {
      clock = i * 300;
      view.update(progress({ pages_crawled: i * 3, pages_discovered: 1000 }));
    }
    clock = 60_300;
    view.update(progress({ status: 'completed', completed: true, pages_crawled: 600, pages_discovered: 1000, pages_skipped: 4 }));
    view.stop();
    assert.ok(lines.length >= 25 && lines.length <= 32, `${lines.length} lines`);
    assert.match(lines[0]!, /^running: 3\/1000 pages stored, 1000 found, 0 skipped$/);
    assert.equal(lines.at(-1), 'completed: 600 pages stored, 4 skipped, 1000 found in 60.3 s (10.0 pages/s)');
  });

  it('a failed crawl ends with its reason', () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const view = crawlProgress({ stream, now: () => 1000 });
    view.update(progress({ status: 'failed', completed: true, error_message: 'no page was stored (x: 404)' }));
    view.stop();
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^failed: 0 pages stored, 0 skipped, 1 found in .* s \(0\.0 pages\/s\): no page was stored \(x: 404\)\n$/);
  });
});
