/** What a Doctor process is and holds: version, counts, vector engine and index, embedder, mode. */
import { LATE, within } from '../deadline.js';
import { packageVersion } from '../version.js';
import type { EmbeddingIdentity } from '../store/store.js';
import type { DoctorContext } from './context.js';
import { indexStatus, type IndexStatus } from './index-status.js';

export interface DoctorStatus {
  version: string;
  pages: number;
  chunks: number;
  /** The vector engine answering searches. */
  engine: string;
  /** The embedder recorded in the database (queries are embedded with it). */
  embedding: EmbeddingIdentity;
  read_only: boolean;
  /** Whether this process runs crawl jobs. */
  runs_crawls: boolean;
}

/** The counts and identity /health reports (cheap: no index inspection). */
export async function doctorStatus(ctx: DoctorContext, input: { read_only?: boolean } = {}): Promise<DoctorStatus> {
  const [pages, chunks] = await Promise.all([ctx.store.pages.count(), ctx.store.chunks.count()]);
  lastCounts.set(ctx, { pages, chunks });
  return statusWith(ctx, input, { pages, chunks });
}

function statusWith(ctx: DoctorContext, input: { read_only?: boolean }, counts: { pages: number; chunks: number }): DoctorStatus {
  return {
    version: packageVersion(),
    ...counts,
    engine: ctx.store.chunks.vectorEngine.name,
    embedding: ctx.store.embedding,
    read_only: input.read_only ?? ctx.config.readOnly,
    runs_crawls: !!ctx.jobs,
  };
}

/** The counts each context last reported. */
const lastCounts = new WeakMap<DoctorContext, { pages: number; chunks: number }>();

/**
 * How long /health waits for fresh counts before it answers with the last ones. Counting waits for DuckDB:
 * behind the commit of a large write (a 20 MB document's ~20,000 chunks) or behind long searches holding
 * every reader. /health then took over a second, and a liveness probe with a short timeout would restart a
 * server that is only busy.
 */
export const HEALTH_COUNTS_WAIT_MS = 250;

/**
 * doctorStatus for liveness checks: within about HEALTH_COUNTS_WAIT_MS, with the counts of the last status
 * when fresh ones take longer (they become the last ones when they arrive). The first call waits.
 */
export async function healthStatus(ctx: DoctorContext, input: { read_only?: boolean } = {}): Promise<DoctorStatus> {
  const fresh = doctorStatus(ctx, input);
  const last = lastCounts.get(ctx);
  if (!last) return fresh;
  const answer = await within(fresh, HEALTH_COUNTS_WAIT_MS);
  if (answer !== LATE) return answer;
  fresh.catch(() => undefined); // a failure shows in the next call
  return statusWith(ctx, input, last);
}

/** doctorStatus with the vector index's status and how many crawl jobs are waiting or running. */
export async function fullStatus(ctx: DoctorContext, input: { read_only?: boolean } = {}): Promise<DoctorStatus & { index: IndexStatus; jobs: { pending: number; running: number } }> {
  const [base, index, unfinished] = await Promise.all([doctorStatus(ctx, input), indexStatus(ctx), ctx.store.jobs.unfinished()]);
  return {
    ...base,
    index,
    jobs: { pending: unfinished.filter((j) => j.status === 'pending').length, running: unfinished.filter((j) => j.status === 'running').length },
  };
}
