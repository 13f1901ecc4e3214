/**
 * The service layer: every operation Doctor offers, one function each. REST (src/http), MCP (src/mcp) and
 * the CLI (src/cli) call these and hold no logic of their own.
 */
export * from './context.js';
export * from './errors.js';
export * from './inputs.js';
export { searchDocs } from './search.js';
export { listDocPages, getDocPage, listTags, deleteDocs, PAGES_PER_PAGE } from './pages.js';
export { fetchUrl, jobProgress, cancelJob, listJobs, progressOf, findJob, type JobProgress } from './jobs.js';
export { watchJobs, type JobEvent, type JobWatch } from './job-events.js';
export { siteOverview, recrawlSite, type SiteOverview, type SiteEntry } from './sites.js';
export { indexStatus, indexFileStatus, type IndexStatus } from './index-status.js';
export { doctorStatus, fullStatus, healthStatus, type DoctorStatus } from './status.js';
export { listSites, siteTree, pageView, siteLinkTargets, type TreeNode, type PageView } from './sitemap.js';
export {
  exportIndex,
  importIndex,
  exportIndexInput,
  importIndexInput,
  type ExportIndexInput,
  type ImportIndexInput,
  type ExportSummary,
  type ImportSummary,
  type PortableProgress,
  type ProgressFn,
} from './portable.js';
export {
  addLocal,
  resolveLocalPath,
  type AddLocalInput,
  type AddLocalOptions,
  type LocalIndexSummary,
  type LocalProgress,
} from './local.js';
export { listWorkers, type WorkersOverview } from './workers.js';
export { serviceOperations, type Operations } from './operations.js';
