/**
 * Opening Doctor's database: schema migrations, the embedding identity check, and the stores.
 */
import { Database, type OpenOptions } from '../db/database.js';
import { getMeta, setMeta } from '../db/meta.js';
import { migrate } from '../db/schema.js';
import { isLegacyDatabase, upgradeLegacyDatabase } from '../db/legacy.js';
import { VectorIndexer } from './embeddings.js';
import { createVectorEngine, type CreateEngineOptions, type VectorEngineConfig } from '../vector/select.js';
import type { Logger } from '../log.js';
import { JobStore } from './jobs.js';
import { KeywordIndex } from './keyword-index.js';
import { PageStore } from './pages.js';

/** Which embedder made (or will make) the vectors of a database. */
export interface EmbeddingIdentity {
  provider: string;
  model: string;
  dimension: number;
}

export class EmbeddingMismatchError extends Error {
  override name = 'EmbeddingMismatchError';
}

export interface Store {
  db: Database;
  embedding: EmbeddingIdentity;
  chunks: VectorIndexer;
  keyword: KeywordIndex;
  pages: PageStore;
  jobs: JobStore;
  close(): Promise<void>;
}

export interface OpenStoreOptions extends OpenOptions {
  path: string;
  embedding: EmbeddingIdentity;
  /** Vector engine settings (DOCTOR_VECTOR_ENGINE etc.); without them the exact engine answers. */
  vector?: VectorEngineConfig & { log?: Logger; options?: CreateEngineOptions };
}

/** The embedding identity recorded in a database, if any. */
export async function recordedEmbedding(db: Database): Promise<EmbeddingIdentity | undefined> {
  const tables = await db.all<{ n: number }>(
    "SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name = 'meta' AND schema_name = 'main'",
  );
  if (!tables[0]?.n) return undefined;
  const dimension = await getMeta(db, 'embedding_dimension');
  if (dimension === undefined) return undefined;
  return {
    provider: (await getMeta(db, 'embedding_provider')) ?? 'unknown',
    model: (await getMeta(db, 'embedding_model')) ?? 'unknown',
    dimension: Number(dimension),
  };
}

/** Refuses an embedder that differs from the one recorded in the database. */
export function checkEmbeddingIdentity(path: string, recorded: EmbeddingIdentity, wanted: EmbeddingIdentity): void {
  if (recorded.dimension === wanted.dimension && recorded.model === wanted.model) return;
  const describe = (e: EmbeddingIdentity) => `${e.provider}/${e.model} (${e.dimension} dimensions)`;
  throw new EmbeddingMismatchError(
    `The database ${path} holds embeddings made by ${describe(recorded)}, but Doctor is configured to embed with ` +
      `${describe(wanted)}. Vectors from different models cannot be compared. Either configure the original model ` +
      `(DOCTOR_EMBEDDING_PROVIDER=${recorded.provider === 'lexical' ? 'lexical' : 'openai'}, ` +
      `DOCTOR_EMBEDDING_MODEL=${recorded.model}, DOCTOR_EMBEDDING_DIM=${recorded.dimension}), ` +
      'or point DATA_DIR (or DOCTOR_DB_PATH) at a new database and crawl again.',
  );
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const db = await Database.open(opts.path, opts);
  try {
    // A file written by the Python Doctor is upgraded in place first (every row kept).
    if (await isLegacyDatabase(db)) await upgradeLegacyDatabase(db, opts.embedding.dimension);
    const recorded = await recordedEmbedding(db);
    if (recorded) checkEmbeddingIdentity(opts.path, recorded, opts.embedding);
    const embedding = recorded ?? opts.embedding;
    await migrate(db, { dimension: embedding.dimension });
    if (!recorded) {
      await db.transaction(async (tx) => {
        await setMeta(tx, 'embedding_provider', embedding.provider);
        await setMeta(tx, 'embedding_model', embedding.model);
        await setMeta(tx, 'embedding_dimension', String(embedding.dimension));
        await setMeta(tx, 'created_at', new Date().toISOString());
      });
    }
    const chunks = new VectorIndexer(db, embedding.dimension);
    if (opts.vector) {
      const { log, options, ...vectorConfig } = opts.vector;
      chunks.setEngine(await createVectorEngine(db, embedding.dimension, vectorConfig, log, options));
    }
    const keyword = new KeywordIndex(db, opts.vector?.log);
    chunks.addHook(keyword);
    // Chunks written without keyword rows (older files, a tokeniser change) are indexed, then the rows loaded.
    await keyword.open();
    const store: Store = {
      db,
      embedding,
      chunks,
      keyword,
      pages: new PageStore(db, chunks),
      jobs: new JobStore(db),
      close: async () => {
        await keyword.close();
        await chunks.vectorEngine.close?.();
        await db.close();
      },
    };
    return store;
  } catch (e) {
    await db.close();
    throw e;
  }
}
