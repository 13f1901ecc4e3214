/** What a Doctor process is and holds: version, counts, vector engine and index, embedder, mode. */
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
  return {
    version: packageVersion(),
    pages,
    chunks,
    engine: ctx.store.chunks.vectorEngine.name,
    embedding: ctx.store.embedding,
    read_only: input.read_only ?? ctx.config.readOnly,
    runs_crawls: !!ctx.jobs,
  };
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
