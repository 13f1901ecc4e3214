/**
 * The CLI's view of Doctor: the same operations whether a server is running (talk to it over HTTP, since
 * DuckDB lets only one process open the file) or not (open the database in this process).
 * A user never sees a DuckDB lock error.
 */
import type { DoctorConfig } from '../config/config.js';
import { openApp } from './open.js';
import { NotFoundError, ValidationError, ConflictError, type DoctorContext } from '../service/index.js';
import { serviceOperations, type Operations } from '../service/operations.js';
import { readServerInfo } from './server-info.js';

export type { Operations } from '../service/operations.js';

export interface Backend extends Operations {
  readonly kind: 'local' | 'remote';
  /** Where the operations run (the server URL, or the database path). */
  readonly where: string;
  /** The in-process context when local (crawls run here), undefined when remote. */
  readonly context?: DoctorContext;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Called with the local context before use (e.g. to start a job runner for `doctor crawl`). */
  prepareLocal?: (ctx: DoctorContext) => Promise<void> | void;
  /** The command line, recorded while this process holds the database (see local-holder.ts). */
  command?: string;
}

export async function connectBackend(config: DoctorConfig, opts: ConnectOptions = {}): Promise<Backend> {
  const server = await readServerInfo(config);
  if (server) return remoteBackend(server.url, config.apiToken);
  const ctx = await openApp(config, { localCommand: opts.command ?? 'a doctor command' });
  await opts.prepareLocal?.(ctx);
  return localBackend(ctx);
}

export function localBackend(ctx: DoctorContext & { close(): Promise<void> }): Backend {
  return { kind: 'local', where: ctx.config.dbPath, context: ctx, ...serviceOperations(ctx), close: () => ctx.close() };
}

export function remoteBackend(baseUrl: string, token?: string): Backend {
  const call = async <O>(method: 'GET' | 'POST', path: string, input: object = {}): Promise<O> => {
    const url = new URL(path, baseUrl);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (method === 'GET') {
      for (const [k, v] of Object.entries(input)) {
        if (v === undefined || v === null) continue;
        for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
      }
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(input);
    }
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(120_000) });
    } catch (e) {
      throw new Error(`cannot reach the Doctor server at ${baseUrl} (${(e as Error).message}); is \`doctor serve\` still running?`);
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { detail: text };
    }
    if (res.ok) return data as O;
    const detail = (data as { detail?: string }).detail ?? `${res.status} ${res.statusText}`;
    if (res.status === 404) throw new NotFoundError(detail);
    if (res.status === 422 || res.status === 400) throw new ValidationError(detail);
    if (res.status === 409 || res.status === 403) throw new ConflictError(detail);
    if (res.status === 401) throw new Error(`the server at ${baseUrl} needs a token: set DOCTOR_API_TOKEN (${detail})`);
    throw new Error(`the server at ${baseUrl} answered ${res.status}: ${detail}`);
  };
  return {
    kind: 'remote',
    where: baseUrl,
    searchDocs: (i) => call('GET', '/search_docs', i),
    listDocPages: (i) => call('GET', '/list_doc_pages', i),
    getDocPage: (i) => call('GET', '/get_doc_page', i),
    listTags: (i) => call('GET', '/list_tags', i),
    fetchUrl: (i) => call('POST', '/fetch_url', i),
    jobProgress: (i) => call('GET', '/job_progress', i),
    cancelJob: (i) => call('POST', '/cancel_job', i),
    listJobs: (i) => call('GET', '/jobs', i),
    deleteDocs: (i) => call('POST', '/delete_docs', i),
    close: async () => {},
  };
}
