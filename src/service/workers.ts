/** Remote crawl workers connected through Redis (`doctor serve --redis`), with their throughput. */
import type { WorkerInfo } from '../ingest/remote/protocol.js';
import type { DoctorContext } from './context.js';

export interface WorkersOverview {
  /** Whether this server hands crawl work to remote workers (started with --redis / DOCTOR_REDIS_URL). */
  remote: boolean;
  workers: WorkerInfo[];
  /** Pages per minute over every worker (stored or skipped, last 60 s). */
  pages_last_minute: number;
}

export async function listWorkers(ctx: DoctorContext, _input: Record<string, never> = {}): Promise<WorkersOverview> {
  if (!ctx.remote) return { remote: false, workers: [], pages_last_minute: 0 };
  const workers = await ctx.remote.workers();
  return { remote: true, workers, pages_last_minute: workers.reduce((n, w) => n + w.pages_last_minute, 0) };
}
