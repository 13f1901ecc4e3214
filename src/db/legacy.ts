/**
 * Upgrading a database written by the Python Doctor in place: tables `pages` and `jobs` (tags as JSON
 * text, naive timestamps), maybe `document_embeddings`, and no `meta` table. Every row is kept: tags
 * become VARCHAR[], naive timestamps are read as UTC, missing columns get defaults (a page is its own
 * root at depth 0), embeddings get Doctor's row keys. All of it happens in one transaction.
 */
import type { Database, Tx } from './database.js';
import { setMeta } from './meta.js';
import { migrations } from './schema.js';

/** The model the Python Doctor embedded with (recorded for legacy embeddings). */
export const LEGACY_EMBEDDING = { provider: 'openai', model: 'text-embedding-ada-002' } as const;

type Columns = Map<string, string>; // name -> data type

async function columns(db: Database | Tx, table: string): Promise<Columns> {
  const rows = await db.all<{ column_name: string; data_type: string }>(
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
    [table],
  );
  return new Map(rows.map((r) => [r.column_name.toLowerCase(), r.data_type.toUpperCase()]));
}

async function tableExists(db: Database | Tx, table: string): Promise<boolean> {
  return (await columns(db, table)).size > 0;
}

/** True when the file looks like the Python Doctor's: `pages` or `jobs` but no `meta`. */
export async function isLegacyDatabase(db: Database): Promise<boolean> {
  if (await tableExists(db, 'meta')) return false;
  return (await tableExists(db, 'pages')) || (await tableExists(db, 'jobs'));
}

/** SQL turning a legacy tags column (JSON text, VARCHAR[] or missing) into VARCHAR[]. */
function tagsExpr(cols: Columns): string {
  const type = cols.get('tags');
  if (!type) return '[]::VARCHAR[]';
  if (type.endsWith('[]')) return 'coalesce(tags, [])::VARCHAR[]';
  return `coalesce(CASE WHEN tags IS NULL OR trim(tags) = '' THEN []::VARCHAR[]
    WHEN json_valid(tags) AND json_type(tags) = 'ARRAY' THEN list_filter(from_json(tags, '["VARCHAR"]'), x -> x IS NOT NULL)
    WHEN json_valid(tags) AND json_type(tags) = 'VARCHAR' THEN [tags ->> '$']
    ELSE list_filter(list_transform(string_split(tags, ','), x -> trim(x)), x -> x <> '') END, [])::VARCHAR[]`;
}

/** A naive TIMESTAMP is taken as UTC; TIMESTAMPTZ and text are converted; missing -> now. */
function timeExpr(cols: Columns, name: string): string {
  const type = cols.get(name);
  if (!type) return 'current_timestamp';
  if (type.includes('WITH TIME ZONE') || type === 'TIMESTAMPTZ') return `coalesce(${name}, current_timestamp)`;
  if (type.startsWith('TIMESTAMP') || type === 'DATE') return `coalesce(timezone('UTC', ${name}::TIMESTAMP), current_timestamp)`;
  return `coalesce(timezone('UTC', try_cast(${name} AS TIMESTAMP)), current_timestamp)`;
}

const col = (cols: Columns, name: string, fallback: string, cast?: string) =>
  cols.has(name) ? (cast ? `${name}::${cast}` : name) : fallback;

/**
 * Upgrades a legacy file. Returns the embedding dimension found in a legacy document_embeddings table
 * (undefined when it has none), so the caller knows which identity to record.
 */
export async function upgradeLegacyDatabase(db: Database, fallbackDimension: number): Promise<{ embeddingDimension?: number }> {
  try {
    return await upgrade(db, fallbackDimension);
  } catch (e) {
    throw explainLegacyError(e, db.path);
  }
}

export class LegacyDatabaseError extends Error {
  override name = 'LegacyDatabaseError';
}

/** DuckDB's errors about an index type (vss's HNSW) that is not loaded: the table cannot be altered. */
export function isUnknownIndexError(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /unknown index type|index type .?HNSW.? not recognized|load the extension that provides this index type/i.test(msg);
}

/** Turns an HNSW/vss error met while upgrading into one that says what to do; other errors pass through. */
export function explainLegacyError(e: unknown, path: string): unknown {
  if (!isUnknownIndexError(e)) return e;
  return new LegacyDatabaseError(
    `Cannot upgrade ${path}, written by the Python Doctor: ${(e as Error).message.split('\n')[0]}. Its document_embeddings table ` +
      "has an HNSW index from DuckDB's vss extension, which cannot be installed without internet access. Nothing was changed. " +
      'Open the file once with a DuckDB that has vss (the duckdb CLI: INSTALL vss; LOAD vss; SET hnsw_enable_experimental_persistence = true; ' +
      "then DROP INDEX for each name in SELECT index_name FROM duckdb_indexes() WHERE table_name = 'document_embeddings'), " +
      'or set DOCTOR_VSS_EXTENSION to a local copy of the extension, or EXPORT DATABASE it there and IMPORT it into a new file; then open it with Doctor again.',
  );
}

/** Dimension of legacy embeddings: from FLOAT[n], or from the stored lengths when the column is a FLOAT[] list. */
async function legacyDimension(db: Database, type: string | undefined): Promise<number | undefined> {
  if (!type) return undefined;
  const fixed = /\[(\d+)\]$/.exec(type);
  if (fixed) return Number(fixed[1]);
  const lens = await db.all<{ n: number; rows: number; ids: string[] }>(
    `SELECT len(embedding)::INTEGER AS n, count(*)::INTEGER AS rows, list(id::VARCHAR ORDER BY id)[1:5] AS ids
     FROM document_embeddings GROUP BY 1 ORDER BY 2 DESC, 1`,
  );
  if (lens.length > 1 || (lens[0] && !(lens[0].n > 0))) {
    const odd = lens.slice(1).concat(lens[0] && !(lens[0].n > 0) ? [lens[0]] : []);
    throw new LegacyDatabaseError(
      `${db.path} (written by the Python Doctor) holds embeddings of different lengths: ` +
        lens.map((l) => `${l.rows} of length ${l.n ?? 'NULL'}`).join(', ') +
        ` (e.g. ids ${odd.flatMap((l) => l.ids).slice(0, 5).join(', ')}). Nothing was changed. Delete or fix those rows ` +
        '(duckdb CLI: DELETE FROM document_embeddings WHERE ...), then open it again.',
    );
  }
  return lens[0]?.n;
}

async function upgrade(db: Database, fallbackDimension: number): Promise<{ embeddingDimension?: number }> {
  const pages = await columns(db, 'pages');
  const jobs = await columns(db, 'jobs');
  const emb = await columns(db, 'document_embeddings');
  const embeddingDimension = emb.size ? await legacyDimension(db, emb.get('embedding')) : undefined;
  const dimension = embeddingDimension ?? fallbackDimension;

  await db.transaction(async (tx) => {
    // Secondary indexes (ART, or vss's HNSW) block renaming a table; they belong to the old tables and go with them.
    const indexes = await tx.all<{ name: string }>(
      "SELECT index_name AS name FROM duckdb_indexes() WHERE schema_name = 'main' AND table_name IN ('pages', 'jobs', 'document_embeddings')",
    );
    for (const ix of indexes) await tx.run(`DROP INDEX "${ix.name.replace(/"/g, '""')}"`);
    if (pages.size) await tx.run('ALTER TABLE pages RENAME TO legacy_pages');
    if (jobs.size) await tx.run('ALTER TABLE jobs RENAME TO legacy_jobs');
    if (emb.size) await tx.run('ALTER TABLE document_embeddings RENAME TO legacy_document_embeddings');
    await tx.run('CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)');
    await migrations[0]!.up(tx, { dimension });
    await setMeta(tx, 'schema_version', String(migrations[0]!.version));
    await setMeta(tx, 'upgraded_from', 'python-doctor');

    if (pages.size) {
      await tx.run(`INSERT INTO pages (id, url, domain, title, raw_text, crawl_date, tags, job_id, parent_page_id, root_page_id, depth, path, content_hash)
        SELECT id::VARCHAR, coalesce(url, ''), ${col(pages, 'domain', 'NULL')}, ${col(pages, 'title', 'NULL')}, ${col(pages, 'raw_text', 'NULL')},
          ${timeExpr(pages, 'crawl_date')}, ${tagsExpr(pages)}, ${col(pages, 'job_id', 'NULL', 'VARCHAR')},
          ${col(pages, 'parent_page_id', 'NULL', 'VARCHAR')}, ${pages.has('root_page_id') ? 'coalesce(root_page_id::VARCHAR, id::VARCHAR)' : 'id::VARCHAR'},
          ${col(pages, 'depth', '0', 'INTEGER')}, ${pages.has('path') ? 'path' : "regexp_extract(url, '^[a-z]+://[^/]+(/[^?#]*)', 1)"},
          ${col(pages, 'content_hash', 'md5(coalesce(raw_text, \'\'))')}
        FROM legacy_pages`);
    }
    if (jobs.size) {
      await tx.run(`INSERT INTO jobs (job_id, start_url, status, pages_discovered, pages_crawled, pages_skipped, max_pages, max_depth, tags,
          options, skipped, error_message, created_at, updated_at)
        SELECT job_id::VARCHAR, coalesce(${col(jobs, 'start_url', "''")}, ''),
          -- a job the Python service left pending or running has no resumable state here: it ends failed
          CASE WHEN lower(${col(jobs, 'status', "'completed'")}) IN ('completed','failed','cancelled') THEN lower(status)
               WHEN lower(${col(jobs, 'status', "'completed'")}) = 'canceled' THEN 'cancelled' ELSE 'failed' END,
          coalesce(${col(jobs, 'pages_discovered', '0', 'INTEGER')}, 0), coalesce(${col(jobs, 'pages_crawled', '0', 'INTEGER')}, 0), 0,
          coalesce(${col(jobs, 'max_pages', '100', 'INTEGER')}, 100), ${col(jobs, 'max_depth', 'NULL', 'INTEGER')}, ${tagsExpr(jobs)},
          '{}', '[]',
          CASE WHEN lower(${col(jobs, 'status', "'completed'")}) IN ('pending','running')
               THEN 'interrupted before the upgrade from the Python Doctor: start the crawl again with fetch_url'
               ELSE ${col(jobs, 'error_message', 'NULL')} END,
          ${timeExpr(jobs, 'created_at')}, ${timeExpr(jobs, 'updated_at')}
        FROM legacy_jobs`);
    }
    if (emb.size && embeddingDimension) {
      await tx.run(`INSERT INTO document_embeddings (id, seq, embedding, text_chunk, page_id, url, domain, tags, job_id, chunk_index, extra)
        SELECT id::VARCHAR, nextval('embedding_seq'), embedding::FLOAT[${embeddingDimension}], ${col(emb, 'text_chunk', col(emb, 'text', 'NULL'))},
          ${col(emb, 'page_id', 'NULL', 'VARCHAR')}, ${col(emb, 'url', 'NULL')}, ${col(emb, 'domain', 'NULL')}, ${tagsExpr(emb)},
          ${col(emb, 'job_id', 'NULL', 'VARCHAR')}, ${col(emb, 'chunk_index', 'NULL', 'INTEGER')}, '{"_source":"python-doctor"}'
        FROM legacy_document_embeddings`);
      await setMeta(tx, 'embedding_provider', LEGACY_EMBEDDING.provider);
      await setMeta(tx, 'embedding_model', LEGACY_EMBEDDING.model);
      await setMeta(tx, 'embedding_dimension', String(embeddingDimension));
    }
    for (const t of ['legacy_document_embeddings', 'legacy_jobs', 'legacy_pages']) {
      if (await tableExists(tx, t)) await tx.run(`DROP TABLE ${t}`);
    }
  });
  return { embeddingDimension };
}
