/**
 * What the MCP tools run on: either the CLI's `Operations` (in this process, or forwarded to the running
 * server for `doctor mcp`) or a `DoctorContext` directly (the server's own process). Both become the same
 * set of operations, plus a way to be told when a crawl job moves (when the job runner lives here).
 */
import { serviceOperations, type Operations } from '../service/operations.js';
import type { DoctorContext } from '../service/index.js';
import type { JobRecord } from '../store/jobs.js';

/** Subscribes to one job's progress events; returns an unsubscribe function. */
export type WatchJob = (jobId: string, fn: (job: JobRecord) => void) => () => void;

export type McpTarget = Operations | DoctorContext;

export interface McpOperations {
  ops: Operations;
  /** Push notifications from an in-process job runner; undefined when jobs run elsewhere (poll then). */
  watchJob?: WatchJob;
}

const isContext = (t: McpTarget): t is DoctorContext => 'store' in t && 'config' in t;

/** The context a local backend carries (see localBackend), if any. */
const contextOf = (t: McpTarget): DoctorContext | undefined =>
  isContext(t) ? t : (t as Operations & { context?: DoctorContext }).context;

export function mcpOperations(target: McpTarget): McpOperations {
  const ctx = contextOf(target);
  const ops: Operations = isContext(target) ? serviceOperations(target) : target;
  // Looked up at call time: the job runner may be attached to the context after the MCP server is built.
  const watchJob: WatchJob | undefined = ctx
    ? (jobId, fn) => ctx.jobs?.onProgress?.(jobId, fn) ?? (() => {})
    : undefined;
  return { ops, watchJob };
}
