/** Every operation as one object: what MCP tools and CLI commands call, in this process or on a server. */
import type { DoctorContext } from './context.js';
import { searchDocs } from './search.js';
import { deleteDocs, getDocPage, listDocPages, listTags } from './pages.js';
import { cancelJob, fetchUrl, jobProgress, listJobs } from './jobs.js';
import { recrawlSite, siteOverview } from './sites.js';
import { indexStatus } from './index-status.js';
import { listWorkers } from './workers.js';
import { exportIndex, importIndex, type ProgressFn } from './portable.js';
import { addLocal, type AddLocalOptions } from './local.js';

type Op<F extends (ctx: DoctorContext, input: never) => Promise<unknown>> = (input: Parameters<F>[1]) => ReturnType<F>;

export interface Operations {
  searchDocs: Op<typeof searchDocs>;
  listDocPages: Op<typeof listDocPages>;
  getDocPage: Op<typeof getDocPage>;
  listTags: Op<typeof listTags>;
  fetchUrl: Op<typeof fetchUrl>;
  jobProgress: Op<typeof jobProgress>;
  cancelJob: Op<typeof cancelJob>;
  listJobs: Op<typeof listJobs>;
  deleteDocs: Op<typeof deleteDocs>;
  siteOverview: Op<typeof siteOverview>;
  recrawlSite: Op<typeof recrawlSite>;
  indexStatus: Op<typeof indexStatus>;
  listWorkers: Op<typeof listWorkers>;
  /** Export and import report progress as they go (on a server too: the answer streams it). */
  exportIndex: (input: Parameters<typeof exportIndex>[1], onProgress?: ProgressFn) => ReturnType<typeof exportIndex>;
  importIndex: (input: Parameters<typeof importIndex>[1], onProgress?: ProgressFn) => ReturnType<typeof importIndex>;
  /** Indexes a local directory, archive or file; `restricted` for callers other than this machine's user (MCP). */
  addLocal: (input: Parameters<typeof addLocal>[1], opts?: Omit<AddLocalOptions, 'signal'>) => ReturnType<typeof addLocal>;
}

/** The operations bound to a context (this process opens the database). */
export function serviceOperations(ctx: DoctorContext): Operations {
  return {
    searchDocs: (i) => searchDocs(ctx, i),
    listDocPages: (i) => listDocPages(ctx, i),
    getDocPage: (i) => getDocPage(ctx, i),
    listTags: (i) => listTags(ctx, i),
    fetchUrl: (i) => fetchUrl(ctx, i),
    jobProgress: (i) => jobProgress(ctx, i),
    cancelJob: (i) => cancelJob(ctx, i),
    listJobs: (i) => listJobs(ctx, i),
    deleteDocs: (i) => deleteDocs(ctx, i),
    siteOverview: (i) => siteOverview(ctx, i),
    recrawlSite: (i) => recrawlSite(ctx, i),
    indexStatus: (i) => indexStatus(ctx, i),
    listWorkers: (i) => listWorkers(ctx, i),
    exportIndex: (i, onProgress) => exportIndex(ctx, i, onProgress),
    importIndex: (i, onProgress) => importIndex(ctx, i, onProgress),
    addLocal: (i, opts) => addLocal(ctx, i, opts),
  };
}
