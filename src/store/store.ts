/**
 * Opening Doctor's database: schema migrations, the embedding identity check, and the stores.
 */
import { Database, type OpenOptions } from '../db/database.js';
import { getMeta, setMeta } from '../db/meta.js';
import { migrate, requireCurrentSchema } from '../db/schema.js';
import { upgradeHeadingPaths } from './heading-paths.js';
import { upgradeUrlForms } from './url-forms.js';
import { isLegacyDatabase, upgradeLegacyDatabase } from '../db/legacy.js';
import { VectorIndexer } from './embeddings.js';
import { createVectorEngine, type CreateEngineOptions, type VectorEngineConfig } from '../vector/select.js';
import type { Logger } from '../log.js';
import { JobStore } from './jobs.js';
import { KeywordIndex } from './keyword-index.js';
import { PageStore } from './pages.js';
import { sameEmbedding, type EmbeddingIdentity } from './embedding-identity.js';
import { dropStaleVectorIndex, pendingReembed, reembedCounts, type PendingReembed } from './reembed.js';
import { RwLock } from './rw-lock.js';
import type { VectorEngine } from '../vector/engine.js';
import { ExactEngine } from '../vector/exact.js';

export { sameEmbedding, type EmbeddingIdentity } from './embedding-identity.js';

export class EmbeddingMismatchError extends Error {
  override name = 'EmbeddingMismatchError';
}

export interface Store {
  db: Database;
  /** The embedder that made the active vectors (changes when a re-embedding switches models). */
  embedding: EmbeddingIdentity;
  chunks: VectorIndexer;
  /**
   * Held shared by every search (query embedding + vector search), exclusive by a re-embedding while it
   * switches models, so that no search mixes the old model with the new vectors.
   */
  vectorSpace: RwLock;
  /** A vector engine for the current table, as configured (exact when no engine is configured). */
  openVectorEngine(dimension: number): Promise<VectorEngine>;
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
  /**
   * Open with the embedder recorded in the database even when `embedding` differs (a re-embedding to
   * `embedding` runs on it) instead of refusing.
   */
  keepRecordedEmbedding?: boolean;
  /** Called as soon as the file is open (and locked by this process), before its indexes load. */
  onOpened?: () => void;
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

const describeIdentity = (e: EmbeddingIdentity) => `${e.provider}/${e.model} (${e.dimension} dimensions)`;

/**
 * Refuses an embedder that differs from the one recorded in the database. `pending`: a re-embedding in
 * progress (named in the message when it is the configured model).
 */
export function checkEmbeddingIdentity(
  path: string,
  recorded: EmbeddingIdentity,
  wanted: EmbeddingIdentity,
  pending?: PendingReembed & { done?: number; total?: number },
): void {
  if (sameEmbedding(recorded, wanted)) return;
  const original =
    recorded.provider === 'lexical' || recorded.provider === 'local'
      ? `DOCTOR_EMBEDDING_PROVIDER=${recorded.provider}${recorded.provider === 'local' ? `, DOCTOR_EMBEDDING_MODEL=${recorded.model.includes('/') ? recorded.model : `<the path of the ${recorded.model} model directory>`}` : `, DOCTOR_EMBEDDING_DIM=${recorded.dimension}`}`
      : `DOCTOR_EMBEDDING_PROVIDER=openai, DOCTOR_EMBEDDING_MODEL=${recorded.model}, DOCTOR_EMBEDDING_DIM=${recorded.dimension}`;
  const inProgress =
    pending && sameEmbedding(pending.target, wanted)
      ? ` A re-embedding to ${describeIdentity(wanted)} is in progress${pending.total ? ` (${pending.done ?? 0} of ${pending.total} chunks)` : ''}: run \`doctor reembed\` to finish it.`
      : '';
  throw new EmbeddingMismatchError(
    `The database ${path} holds embeddings made by ${describeIdentity(recorded)}, but Doctor is configured to embed with ` +
      `${describeIdentity(wanted)}. Vectors from different models cannot be compared.${inProgress} Either run \`doctor reembed\` ` +
      `to re-embed every stored chunk with the configured model (resumable; the current vectors stay active until every chunk has a new one), or configure the original model (${original}), ` +
      'or point DATA_DIR (or DOCTOR_DB_PATH) at a new database and crawl again.',
  );
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const db = await Database.open(opts.path, opts);
  try {
    opts.onOpened?.();
    // Read-only: nothing can be upgraded or created, so the file must be this Doctor's as it is.
    if (opts.readOnly) await requireCurrentSchema(db);
    // A file written by the Python Doctor is upgraded in place first (every row kept).
    else if (await isLegacyDatabase(db)) await upgradeLegacyDatabase(db, opts.embedding.dimension);
    const recorded = await recordedEmbedding(db);
    if (recorded && !opts.keepRecordedEmbedding && !sameEmbedding(recorded, opts.embedding)) {
      const pending = await pendingReembed(db).catch(() => undefined);
      const counts = pending ? await reembedCounts(db).catch(() => undefined) : undefined;
      checkEmbeddingIdentity(opts.path, recorded, opts.embedding, pending && { ...pending, ...counts });
    }
    const embedding = recorded ?? opts.embedding;
    if (!opts.readOnly) {
      await migrate(db, { dimension: embedding.dimension });
      // Stored URLs in a form the crawler no longer writes (a re-crawl would store their pages again)
      await upgradeUrlForms(db);
      // Heading paths that an older chunker cut at a link's parenthesis
      await upgradeHeadingPaths(db);
      // A re-embedding switched models and the process stopped before removing the old index file.
      await dropStaleVectorIndex(db);
    }
    if (!recorded) {
      if (opts.readOnly) throw new Error(`The database ${opts.path} records no embedding model, so it cannot be searched read-only: open it once with write access.`);
      await db.transaction(async (tx) => {
        await setMeta(tx, 'embedding_provider', embedding.provider);
        await setMeta(tx, 'embedding_model', embedding.model);
        await setMeta(tx, 'embedding_dimension', String(embedding.dimension));
        await setMeta(tx, 'created_at', new Date().toISOString());
      });
    }
    const openVectorEngine = async (dimension: number): Promise<VectorEngine> => {
      if (!opts.vector) return new ExactEngine(db, dimension);
      const { log, options, ...vectorConfig } = opts.vector;
      return createVectorEngine(db, dimension, vectorConfig, log, options);
    };
    const chunks = new VectorIndexer(db, embedding.dimension, await openVectorEngine(embedding.dimension));
    const keyword = new KeywordIndex(db, opts.vector?.log);
    chunks.addHook(keyword);
    // Chunks written without keyword rows (older files, a tokeniser change) are indexed, then the rows loaded.
    await keyword.open();
    const store: Store = {
      db,
      embedding,
      chunks,
      vectorSpace: new RwLock(),
      openVectorEngine,
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
