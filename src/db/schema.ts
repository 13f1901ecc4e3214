/**
 * Versioned schema migrations. Each migration runs once, in order, inside one transaction, and records
 * the new version in `meta.schema_version`.
 */
import type { Database, Tx } from './database.js';

export interface MigrationContext {
  /** Embedding dimension of this database (fixed when the database is created). */
  dimension: number;
}

export interface Migration {
  version: number;
  description: string;
  up(tx: Tx, ctx: MigrationContext): Promise<void>;
}

export const migrations: Migration[] = [
  {
    version: 1,
    description: 'jobs, pages, document_embeddings, crawl frontier, keyword index',
    async up(tx, { dimension }) {
      await tx.run(`CREATE TABLE IF NOT EXISTS jobs (
        job_id VARCHAR PRIMARY KEY,
        start_url VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        pages_discovered INTEGER NOT NULL DEFAULT 0,
        pages_crawled INTEGER NOT NULL DEFAULT 0,
        pages_skipped INTEGER NOT NULL DEFAULT 0,
        max_pages INTEGER NOT NULL,
        max_depth INTEGER,
        tags VARCHAR[] NOT NULL DEFAULT [],
        options JSON,
        skipped JSON,
        error_message VARCHAR,
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
      )`);
      await tx.run(`CREATE TABLE IF NOT EXISTS pages (
        id VARCHAR PRIMARY KEY,
        url VARCHAR NOT NULL,
        domain VARCHAR,
        title VARCHAR,
        raw_text VARCHAR,
        crawl_date TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        tags VARCHAR[] NOT NULL DEFAULT [],
        job_id VARCHAR,
        parent_page_id VARCHAR,
        root_page_id VARCHAR,
        depth INTEGER NOT NULL DEFAULT 0,
        path VARCHAR,
        content_hash VARCHAR
      )`);
      await tx.run('CREATE INDEX IF NOT EXISTS pages_url_idx ON pages(url)');
      await tx.run('CREATE INDEX IF NOT EXISTS pages_root_idx ON pages(root_page_id)');
      // The crawl frontier of each job: what was found, what is done, what was skipped and why.
      // Persisted so that a job interrupted by a restart resumes where it stopped.
      await tx.run(`CREATE TABLE IF NOT EXISTS crawl_frontier (
        job_id VARCHAR NOT NULL,
        url VARCHAR NOT NULL,
        depth INTEGER NOT NULL,
        parent_page_id VARCHAR,
        state VARCHAR NOT NULL DEFAULT 'queued',
        reason VARCHAR,
        page_id VARCHAR,
        seq BIGINT NOT NULL,
        PRIMARY KEY (job_id, url)
      )`);
      // The BM25 keyword index over chunks (src/store/keyword-index.ts).
      await tx.run(`CREATE TABLE IF NOT EXISTS kw_docs (
        chunk_id VARCHAR PRIMARY KEY, page_id VARCHAR, len INTEGER NOT NULL, tags VARCHAR[] NOT NULL DEFAULT [])`);
      await tx.run('CREATE TABLE IF NOT EXISTS kw_postings (term VARCHAR NOT NULL, chunk_id VARCHAR NOT NULL, tf INTEGER NOT NULL)');
      await tx.run('CREATE INDEX IF NOT EXISTS kw_postings_term_idx ON kw_postings(term)');
      await tx.run('CREATE SEQUENCE IF NOT EXISTS embedding_seq START 1');
      await tx.run(`CREATE TABLE IF NOT EXISTS document_embeddings (
        id VARCHAR PRIMARY KEY,
        seq BIGINT NOT NULL,
        embedding FLOAT[${Number(dimension)}] NOT NULL,
        text_chunk VARCHAR,
        page_id VARCHAR,
        url VARCHAR,
        domain VARCHAR,
        tags VARCHAR[] NOT NULL DEFAULT [],
        job_id VARCHAR,
        chunk_index INTEGER,
        title VARCHAR,
        heading_path VARCHAR,
        extra JSON,
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
      )`);
    },
  },
  {
    version: 2,
    description: 'keyword index v2: integer term hashes and chunk seqs (rebuilt from stored chunks on open)',
    async up(tx) {
      // The v1 tables keyed postings by term and chunk id strings, with an ART index on term: slow to
      // append and to scan. Replaced by integer keys (src/store/keyword-index.ts); openStore re-indexes
      // every stored chunk when kw_docs holds fewer chunks than document_embeddings.
      await tx.run('DROP INDEX IF EXISTS kw_postings_term_idx');
      await tx.run('DROP TABLE IF EXISTS kw_postings');
      await tx.run('DROP TABLE IF EXISTS kw_docs');
      await tx.run(`CREATE TABLE kw_docs (
        doc BIGINT NOT NULL, chunk_id VARCHAR NOT NULL, page_id VARCHAR, len INTEGER NOT NULL, tags VARCHAR[] NOT NULL DEFAULT [])`);
      await tx.run('CREATE TABLE kw_postings (term BIGINT NOT NULL, doc BIGINT NOT NULL, tf INTEGER NOT NULL)');
    },
  },
  {
    version: 3,
    description: 'job_attempts: starts of a job in a row without progress (a crash loop ends as failed)',
    async up(tx) {
      // A table of its own rather than a column of jobs: DuckDB (1.5.6) cannot replay an ALTER TABLE on a
      // table with a DEFAULT current_timestamp column from the WAL after a crash ("Failure while replaying
      // WAL file: ... GetDefaultDatabase"), so a kill soon after the upgrade would leave the file unopenable.
      await tx.run('CREATE TABLE IF NOT EXISTS job_attempts (job_id VARCHAR PRIMARY KEY, attempts INTEGER NOT NULL)');
    },
  },
  {
    version: 4,
    description: 'keyword index in memory: one row per chunk with its term hashes and counts (searched in memory)',
    async up(tx) {
      // Postings are now built in memory from these rows (src/store/keyword-index.ts); openStore indexes
      // every stored chunk that has no row yet.
      await tx.run('DROP TABLE IF EXISTS kw_postings');
      await tx.run('DROP TABLE IF EXISTS kw_docs');
      await tx.run('CREATE TABLE kw_docs (doc BIGINT NOT NULL, len INTEGER NOT NULL, terms BIGINT[] NOT NULL, tfs USMALLINT[] NOT NULL)');
    },
  },
  {
    version: 5,
    description: 'crawl frontier rows of finished jobs removed (only a running job reads its frontier; they were kept for good)',
    async up(tx) {
      await tx.run("DELETE FROM crawl_frontier WHERE job_id IN (SELECT job_id FROM jobs WHERE status IN ('completed', 'failed', 'cancelled'))");
    },
  },
];

export const latestSchemaVersion = (): number => migrations[migrations.length - 1]!.version;

/**
 * For a database opened read-only: its schema must be this Doctor's, since it cannot be upgraded.
 * @throws Error saying to open it once with write access (an older schema) or to upgrade Doctor (a newer one)
 */
export async function requireCurrentSchema(db: Database): Promise<void> {
  const tables = await db.all<{ n: number }>("SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name = 'meta' AND schema_name = 'main'");
  const rows = tables[0]?.n ? await db.all<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'") : [];
  const current = rows.length ? Number(rows[0]!.value) : 0;
  if (current === latestSchemaVersion()) return;
  if (current > latestSchemaVersion()) {
    throw new Error(`The database ${db.path} has schema version ${current}, newer than this Doctor understands (${latestSchemaVersion()}). Upgrade Doctor.`);
  }
  throw new Error(
    current === 0
      ? `The database ${db.path} holds no Doctor data to open read-only (or was written by the Python Doctor): run a command that writes (doctor crawl, doctor serve without --read-only) once with write access to create or upgrade it.`
      : `The database ${db.path} was written by an older Doctor (schema version ${current}; this one needs ${latestSchemaVersion()}) and cannot be upgraded read-only: open it once with write access (doctor serve without --read-only) to upgrade it.`,
  );
}

/** Runs every migration newer than the database's schema version. Returns the version reached. */
export async function migrate(db: Database, ctx: MigrationContext): Promise<number> {
  await db.run('CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)');
  const rows = await db.all<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'");
  let current = rows.length ? Number(rows[0]!.value) : 0;
  if (current > latestSchemaVersion()) {
    throw new Error(
      `The database ${db.path} has schema version ${current}, newer than this Doctor understands ` +
        `(${latestSchemaVersion()}). Upgrade Doctor, or use another DATA_DIR.`,
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    await db.transaction(async (tx) => {
      await m.up(tx, ctx);
      await tx.run('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', ['schema_version', String(m.version)]);
    });
    current = m.version;
  }
  return current;
}
