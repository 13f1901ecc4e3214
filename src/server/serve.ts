/**
 * `doctor serve`: one process with the REST API, MCP (Streamable HTTP + SSE) and the crawl workers.
 * It owns the database file and announces itself in the data directory for CLI commands.
 */
import { randomBytes } from 'node:crypto';
import type { DoctorConfig } from '../config/config.js';
import { openApp } from '../app/open.js';
import { buildHttpApp } from '../http/app.js';
import { isLoopbackHost, startHttpServer } from '../http/server.js';
import { registerMcpRoutes } from '../mcp/http.js';
import { JobRunner } from '../ingest/job-runner.js';
import { newInstanceId, removeServerInfo, writeServerInfo } from '../app/server-info.js';
import { localBackend } from '../app/backend.js';
import type { RedisPageSource } from '../ingest/remote/remote-source.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(config: DoctorConfig): Promise<RunningServer> {
  // Recorded as the holder of the file while it starts and stops, when server.json does not announce it.
  const ctx = await openApp(config, { localCommand: 'doctor serve', server: true });
  let remote: RedisPageSource | undefined;
  if (config.redisUrl) {
    // loaded only with --redis: BullMQ takes seconds to import on a busy machine, every other start skips it
    const { RedisPageSource } = await import('../ingest/remote/remote-source.js');
    const { redactUrl } = await import('../ingest/remote/connection.js');
    remote = new RedisPageSource({
      redisUrl: config.redisUrl,
      config,
      log: ctx.log,
      embedding: () => ctx.store.embedding,
      concurrency: config.redisPagesInFlight,
      knownHash: async (url) => (await ctx.store.pages.getByUrl(url))?.content_hash ?? undefined,
    });
    try {
      await remote.start();
    } catch (e) {
      await remote.close().catch(() => {});
      await ctx.close();
      throw e;
    }
    ctx.remote = remote;
    ctx.log.info({ redis: redactUrl(config.redisUrl) }, 'crawl pages go to remote workers through Redis (doctor worker)');
  }
  const runner = new JobRunner(ctx, remote);
  ctx.jobs = runner;
  try {
    // A read-only server resumes no crawl: unfinished jobs wait for a server that may write.
    const readOnly = config.readOnly || ctx.store.db.readOnly;
    const unfinished = await runner.start({ resume: !readOnly });
    if (readOnly && unfinished.length) {
      ctx.log.warn({ jobs: unfinished.map((j) => j.job_id) }, `read-only: ${unfinished.length} unfinished crawl job(s) not resumed; \`doctor serve\` without --read-only resumes them`);
    }
    // Without a token on loopback, only local host names may reach the API (a DNS-rebinding page cannot).
    const allowedHosts = !config.apiToken && isLoopbackHost(config.host) ? ['localhost', '127.0.0.1', '[::1]', config.host.toLowerCase()] : undefined;
    const instanceId = newInstanceId();
    // Proves a request comes from the doctor CLI on this machine (it reads server.json): export/import only.
    const localKey = randomBytes(32).toString('hex');
    const app = await buildHttpApp(ctx, { readOnly: config.readOnly, apiToken: config.apiToken, allowedHosts, instanceId, localKey });
    await registerMcpRoutes(app, localBackend(ctx), { readOnly: config.readOnly, sessionIdleMs: config.mcpSessionIdleMs, maxSessions: config.mcpMaxSessions });
    const server = await startHttpServer(app, { host: config.host, port: config.port, log: ctx.log, apiToken: config.apiToken });
    try {
      writeServerInfo(config, server.url, instanceId, localKey);
    } catch (e) {
      if (!ctx.store.db.readOnly) throw e;
      // a read-only data directory: CLI commands do not find this server and open the database read-only themselves
      ctx.log.warn({ err: (e as Error).message }, 'cannot announce this server in the data directory (read-only); CLI commands open the database themselves');
    }
    ctx.log.info({ url: server.url, db: config.dbPath, engine: ctx.store.chunks.vectorEngine.name }, 'Doctor is serving');
    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        removeServerInfo(config);
        await server.close();
        await runner.stop();
        await remote?.close();
        await ctx.close();
      })());
    return { url: server.url, close };
  } catch (e) {
    await runner.stop().catch(() => {});
    await remote?.close().catch(() => {});
    await ctx.close();
    throw e;
  }
}
