/**
 * Opens everything a Doctor process needs from its configuration: logger, embedder, database + stores.
 * Every interface (server, CLI, MCP stdio) starts here.
 */
import type { DoctorConfig } from '../config/config.js';
import { createEmbedder } from '../embed/index.js';
import type { Embedder } from '../embed/embedder.js';
import { createLogger, type Logger } from '../log.js';
import type { DoctorContext } from '../service/context.js';
import { openStore } from '../store/store.js';
import { DatabaseLockedError, explainDatabaseError } from '../db/database.js';
import { describeLockHolder, recordLocalHolder } from './local-holder.js';

export interface OpenAppOptions {
  log?: Logger;
  embedder?: Embedder;
  /**
   * This process opens the database for a command without a server (`doctor crawl ...`): it is recorded in
   * the data directory while open, so a command that finds the database locked can name it.
   */
  localCommand?: string;
}

export async function openApp(config: DoctorConfig, opts: OpenAppOptions = {}): Promise<DoctorContext & { close(): Promise<void> }> {
  const log = opts.log ?? createLogger(config.logLevel);
  const embedder =
    opts.embedder ??
    createEmbedder(
      {
        provider: config.embeddingProvider,
        apiKey: config.openaiApiKey,
        baseUrl: config.openaiBaseUrl,
        model: config.embeddingModel,
        dimension: config.embeddingDimension,
      },
      (msg) => log.info(msg),
    );
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore({
      path: config.dbPath,
      embedding: { provider: embedder.provider, model: embedder.model, dimension: embedder.dimension },
      vector: { ...config, log, options: { allowVssInstall: config.vssInstall } },
      allowExtensionInstall: config.vssInstall,
    });
  } catch (e) {
    if (e instanceof DatabaseLockedError) throw new DatabaseLockedError(describeLockHolder(config, e.holderPid), e.holderPid);
    // A damaged file may open and fail on its first read (the schema check): say so, not DuckDB's raw error.
    throw explainDatabaseError(config.dbPath, e);
  }
  const unrecord = opts.localCommand ? recordLocalHolder(config, opts.localCommand) : () => {};
  const ctx: DoctorContext & { close(): Promise<void> } = {
    config,
    store,
    embedder,
    log,
    close: async () => {
      unrecord();
      await store.close();
    },
  };
  return ctx;
}
