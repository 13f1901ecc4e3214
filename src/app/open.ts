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

export interface OpenAppOptions {
  log?: Logger;
  embedder?: Embedder;
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
  const store = await openStore({
    path: config.dbPath,
    embedding: { provider: embedder.provider, model: embedder.model, dimension: embedder.dimension },
    vector: { ...config, log, options: { allowVssInstall: config.vssInstall } },
  });
  const ctx: DoctorContext & { close(): Promise<void> } = {
    config,
    store,
    embedder,
    log,
    close: async () => {
      await store.close();
    },
  };
  return ctx;
}
