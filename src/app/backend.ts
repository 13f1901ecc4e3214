/**
 * The CLI's view of Doctor: the same operations whether a server is running (talk to it over HTTP, since
 * DuckDB lets only one process open the file) or not (open the database in this process).
 * A user never sees a DuckDB lock error.
 */
import type { DoctorConfig } from '../config/config.js';
import { openApp } from './open.js';
import { NotFoundError, ValidationError, ConflictError, ForbiddenError, type DoctorContext } from '../service/index.js';
import { serviceOperations, type Operations } from '../service/operations.js';
import { LOCAL_KEY_HEADER, readServerInfo } from './server-info.js';
import type { PortableProgress } from '../service/portable.js';

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
  if (server) return remoteBackend(server.url, config.apiToken, server.localKey);
  const ctx = await openApp(config, { localCommand: opts.command ?? 'a doctor command' });
  await opts.prepareLocal?.(ctx);
  return localBackend(ctx);
}

export function localBackend(ctx: DoctorContext & { close(): Promise<void> }): Backend {
  return { kind: 'local', where: ctx.config.dbPath, context: ctx, ...serviceOperations(ctx), close: () => ctx.close() };
}

/** The error a failed request becomes (the same classes the service throws locally). */
function errorFor(baseUrl: string, status: number, detail: string): Error {
  if (status === 404) return new NotFoundError(detail);
  if (status === 422 || status === 400) return new ValidationError(detail);
  if (status === 403) return new ForbiddenError(detail);
  if (status === 409) return new ConflictError(detail);
  if (status === 401) return new Error(`the server at ${baseUrl} needs a token: set DOCTOR_API_TOKEN (${detail})`);
  return new Error(`the server at ${baseUrl} answered ${status}: ${detail}`);
}

/** Seconds without a byte from the server (progress comes at least every 5 s) before a streamed call gives up. */
const STREAM_IDLE_MS = 120_000;

/**
 * `localKey` (from server.json) goes with export/import, which take paths on the server's machine: the
 * server accepts them only from a CLI that could read that file (src/http/portable.ts).
 */
export function remoteBackend(baseUrl: string, token?: string, localKey?: string): Backend {
  const unreachable = (e: unknown) =>
    new Error(`cannot reach the Doctor server at ${baseUrl} (${(e as Error).message}); is \`doctor serve\` still running?`);
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
      throw unreachable(e);
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { detail: text };
    }
    if (res.ok) return data as O;
    throw errorFor(baseUrl, res.status, (data as { detail?: string }).detail ?? `${res.status} ${res.statusText}`);
  };
  /** A POST whose answer streams NDJSON: progress lines, then a result or an error line. */
  const streamed = async <O, P = PortableProgress>(path: string, input: object, onProgress?: (p: P) => void, asLocalUser = true): Promise<O> => {
    const headers: Record<string, string> = { accept: 'application/x-ndjson', 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (localKey && asLocalUser) headers[LOCAL_KEY_HEADER] = localKey;
    const abort = new AbortController();
    let idle: NodeJS.Timeout | undefined;
    const alive = () => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(new Error(`no answer for ${STREAM_IDLE_MS / 1000} s`)), STREAM_IDLE_MS);
    };
    alive();
    try {
      let res: Response;
      try {
        res = await fetch(new URL(path, baseUrl), { method: 'POST', headers, body: JSON.stringify(input), signal: abort.signal });
      } catch (e) {
        throw unreachable(e);
      }
      if (!res.ok || !res.body) {
        const text = await res.text();
        let detail = text;
        try {
          detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
        } catch {
          /* not JSON */
        }
        throw errorFor(baseUrl, res.status, detail || `${res.status} ${res.statusText}`);
      }
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for await (const bytes of res.body) {
          alive();
          buffered += decoder.decode(bytes as Uint8Array, { stream: true });
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            const msg = JSON.parse(line) as { progress?: P | null; result?: O; error?: { status: number; detail: string } };
            if (msg.progress) onProgress?.(msg.progress);
            if (msg.error) throw errorFor(baseUrl, msg.error.status, msg.error.detail);
            if (msg.result !== undefined) return msg.result;
          }
        }
      } catch (e) {
        if (e instanceof SyntaxError || abort.signal.aborted || (e as Error).name === 'TypeError') throw unreachable(abort.signal.reason ?? e);
        throw e;
      }
      throw new Error(`the server at ${baseUrl} ended its answer without a result; see its log (the work may or may not have finished).`);
    } finally {
      clearTimeout(idle);
    }
  };
  return {
    kind: 'remote',
    where: baseUrl,
    searchDocs: (i) => call('POST', '/search_docs', i),
    listDocPages: (i) => call('GET', '/list_doc_pages', i),
    getDocPage: (i) => call('GET', '/get_doc_page', i),
    listTags: (i) => call('GET', '/list_tags', i),
    fetchUrl: (i) => call('POST', '/fetch_url', i),
    jobProgress: (i) => call('GET', '/job_progress', i),
    cancelJob: (i) => call('POST', '/cancel_job', i),
    listJobs: (i) => call('GET', '/jobs', i),
    deleteDocs: (i) => call('POST', '/delete_docs', i),
    siteOverview: () => call('GET', '/sites'),
    recrawlSite: (i) => call('POST', '/recrawl_site', i),
    indexStatus: () => call('GET', '/index_status'),
    listWorkers: () => call('GET', '/workers'),
    exportIndex: (i, onProgress) => streamed('/export_index', i, onProgress),
    importIndex: (i, onProgress) => streamed('/import_index', i, onProgress),
    // A restricted call (an MCP agent behind `doctor mcp`) does not carry the local key: the server's
    // --allow-local decides, as for any other client.
    addLocal: (i, opts) => streamed('/add_local', i, opts?.onProgress, !opts?.restricted),
    close: async () => {},
  };
}
