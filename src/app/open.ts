/**
 * Opens everything a Doctor process needs from its configuration: logger, embedder, database + stores.
 * Every interface (server, CLI, MCP stdio) starts here.
 */
import type { DoctorConfig } from '../config/config.js';
import { openEmbedder, type EmbedderConfig } from '../embed/index.js';
import type { Embedder } from '../embed/embedder.js';
import { createLogger, type Logger } from '../log.js';
import type { DoctorContext } from '../service/context.js';
import { openStore } from '../store/store.js';
import { existsSync } from 'node:fs';
import { DatabaseLockedError, DatabaseNotWritableError, DatabaseOpenError, explainDatabaseError } from '../db/database.js';
import { describeLockHolder, recordLocalHolder } from './local-holder.js';
import { downloadProgress } from './download-progress.js';

export interface OpenAppOptions {
  log?: Logger;
  embedder?: Embedder;
  /**
   * This process opens the database for a command without a server (`doctor crawl ...`): it is recorded in
   * the data directory while open, so a command that finds the database locked can name it.
   */
  localCommand?: string;
  /** The command is `doctor serve`: the record says a server holds the file (while it starts and stops). */
  server?: boolean;
  /**
   * Open the database with the embedding model it records even when `embedder` is another one (for a
   * re-embedding to `embedder`) instead of refusing.
   */
  keepRecordedEmbedding?: boolean;
}

/** The embedder settings of a configuration (the provider, its model, and the local provider's files). */
export function embedderConfig(config: DoctorConfig): EmbedderConfig {
  return {
    provider: config.embeddingProvider,
    apiKey: config.openaiApiKey,
    baseUrl: config.openaiBaseUrl,
    model: config.embeddingModel,
    dimension: config.embeddingDimension,
    modelDir: config.modelDir,
    modelHost: config.modelHost,
    modelDownload: config.modelDownload,
    threads: config.embeddingThreads,
    timeoutMs: config.modelTimeoutMs,
  };
}

/** The configured embedder; a local model missing here is downloaded first, with a progress bar on stderr. */
export async function openConfiguredEmbedder(config: DoctorConfig, log: Logger): Promise<Embedder> {
  const view = downloadProgress(config.embeddingModel ?? 'the embedding model');
  try {
    return await openEmbedder({ ...embedderConfig(config), onDownloadProgress: (p) => view.update(p) }, (msg) => log.info(msg));
  } finally {
    view.stop();
  }
}

export async function openApp(config: DoctorConfig, opts: OpenAppOptions = {}): Promise<DoctorContext & { close(): Promise<void> }> {
  const log = opts.log ?? createLogger(config.logLevel);
  const embedder = opts.embedder ?? (await openConfiguredEmbedder(config, log));
  // Recorded as soon as the file is locked, and removed once it is closed: another command that finds it locked
  // meanwhile (while the indexes load, a server starts or stops) can name this one.
  let unrecord = () => {};
  let store;
  const open = (readOnly: boolean) =>
    openStore({
      onOpened: () => {
        if (opts.localCommand) unrecord = recordLocalHolder(config, opts.localCommand, { server: opts.server });
      },
      path: config.dbPath,
      embedding: { provider: embedder.provider, model: embedder.model, dimension: embedder.dimension },
      vector: { ...config, log, options: { allowVssInstall: config.vssInstall } },
      allowExtensionInstall: config.vssInstall,
      threads: config.duckdbThreads,
      keepRecordedEmbedding: opts.keepRecordedEmbedding,
      readOnly,
    });
  try {
    try {
      store = await open(false);
    } catch (e) {
      // A database this process may not write (a read-only mount or directory, another user's file) still opens
      // for reading: for a process that only reads (--read-only), and for CLI commands (a write then fails
      // saying why). A server meant to write says what to do instead.
      if (!(e instanceof DatabaseNotWritableError) || (opts.server && !config.readOnly) || opts.keepRecordedEmbedding || !existsSync(config.dbPath)) throw e;
      store = await open(true).catch((ro: unknown) =>
        Promise.reject(new DatabaseOpenError(`${e.message} Opening it read-only failed too: ${ro instanceof Error ? ro.message : String(ro)}`)),
      );
      log.warn(`${config.dbPath} is not writable by this process: opened read-only (searches work; crawls, deletions and imports are refused)`);
    }
  } catch (e) {
    unrecord();
    if (!opts.embedder) await embedder.close?.();
    if (e instanceof DatabaseLockedError) throw new DatabaseLockedError(describeLockHolder(config, e.holderPid), e.holderPid);
    // A damaged file may open and fail on its first read (the schema check): say so, not DuckDB's raw error.
    throw explainDatabaseError(config.dbPath, e);
  }
  const ctx: DoctorContext & { close(): Promise<void> } = {
    config,
    store,
    embedder,
    log,
    close: async () => {
      // Jobs first: a crawl still running (one this command started, or an unfinished one of an earlier run it
      // picked up) would otherwise fail as the database closed under it ("The database is closed.").
      await ctx.jobs?.stop?.();
      try {
        await store.close();
      } finally {
        unrecord();
      }
      // The embedder this opened (a re-embedding may have switched ctx.embedder to one its caller owns).
      if (!opts.embedder) await embedder.close?.();
    },
  };
  return ctx;
}
