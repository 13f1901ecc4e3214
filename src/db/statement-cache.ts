/**
 * Prepared statements kept per connection, by SQL text, so that a statement Doctor runs again and again (a
 * crawl's page lookup and frontier updates, a search's candidate and payload queries) is parsed and planned
 * once. DuckDB's node API prepares every statement that has parameters anew: for a small statement that is
 * about half of its cost (`SELECT ?::VARCHAR`: ~700 -> ~340 µs of CPU per run, most of it on the calling
 * thread).
 *
 * A cached statement keeps working when the schema changes under it (DuckDB binds it again); one that fails
 * is dropped, so the next run prepares afresh. Statements without parameters (even when given `{}`: DuckDB
 * would keep answers computed from the statistics of their first run, see prepare()), and SQL holding several
 * statements, run as they are. A statement already running on this connection (two statements in flight at
 * once) is not shared: the second runs uncached.
 */
import type { DuckDBConnection, DuckDBMaterializedResult, DuckDBPreparedStatement, DuckDBResultReader } from './duckdb.js';
import type { ParamTypes, Params } from './params.js';

/** Distinct statements kept per connection (least recently used ones go first). */
const CAPACITY = 200;

interface Entry {
  /** undefined: the SQL holds several statements, or none (run uncached). */
  statement: DuckDBPreparedStatement | undefined;
  busy: boolean;
  /** Dropped from the cache while running: destroyed once it is done. */
  dropped: boolean;
}

class StatementCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly connection: DuckDBConnection) {}

  kept(): string[] {
    return [...this.entries].filter(([, e]) => e.statement).map(([sql]) => sql);
  }

  async run(sql: string, params: Params | undefined, types: ParamTypes | undefined): Promise<DuckDBMaterializedResult> {
    return this.use(sql, params, types, (s) => s.run(), () => this.connection.run(sql, params, types));
  }

  async runAndReadAll(sql: string, params: Params | undefined, types: ParamTypes | undefined): Promise<DuckDBResultReader> {
    return this.use(sql, params, types, (s) => s.runAndReadAll(), () => this.connection.runAndReadAll(sql, params, types));
  }

  private async use<R>(
    sql: string,
    params: Params | undefined,
    types: ParamTypes | undefined,
    run: (statement: DuckDBPreparedStatement) => Promise<R>,
    uncached: () => Promise<R>,
  ): Promise<R> {
    if (!params) return uncached();
    const entry = await this.take(sql);
    if (!entry) return uncached();
    if (!entry.statement) {
      entry.busy = false;
      return uncached();
    }
    try {
      entry.statement.clearBindings();
      entry.statement.bind(params as never, types as never);
      return await run(entry.statement);
    } catch (e) {
      this.drop(sql, entry);
      throw e;
    } finally {
      entry.busy = false;
      if (entry.dropped) entry.statement.destroySync();
    }
  }

  /** The idle cached entry for `sql`, marked busy (prepared now if new); undefined if it is busy. */
  private async take(sql: string): Promise<Entry | undefined> {
    let entry = this.entries.get(sql);
    if (entry) {
      if (entry.busy) return undefined;
      this.entries.delete(sql); // most recently used last
      this.entries.set(sql, entry);
    } else {
      entry = { statement: await this.prepare(sql), busy: false, dropped: false };
      // another run of the same SQL may have prepared it meanwhile: keep the first, use this one uncached
      if (this.entries.has(sql)) {
        entry.dropped = true;
      } else {
        this.entries.set(sql, entry);
        this.evict();
      }
    }
    entry.busy = true;
    return entry;
  }

  private async prepare(sql: string): Promise<DuckDBPreparedStatement | undefined> {
    const extracted = await this.connection.extractStatements(sql);
    if (extracted.count !== 1) return undefined;
    const statement = await extracted.prepare(0);
    // Without parameters, DuckDB 1.5 plans with the table's statistics of the moment and keeps that plan:
    // `SELECT count(*) FROM pages` became the constant of its first run, a join or a filter pruned by the
    // row ranges then. Run such a statement afresh each time (given `{}` or `[]` as its values, too).
    if (statement.parameterCount === 0) {
      statement.destroySync();
      return undefined;
    }
    return statement;
  }

  private drop(sql: string, entry: Entry): void {
    if (this.entries.get(sql) === entry) this.entries.delete(sql);
    entry.dropped = true;
  }

  private evict(): void {
    for (const [sql, entry] of this.entries) {
      if (this.entries.size <= CAPACITY) return;
      this.entries.delete(sql);
      if (entry.busy) entry.dropped = true;
      else entry.statement?.destroySync();
    }
  }
}

const caches = new WeakMap<DuckDBConnection, StatementCache>();

function cacheOf(connection: DuckDBConnection): StatementCache {
  let cache = caches.get(connection);
  if (!cache) caches.set(connection, (cache = new StatementCache(connection)));
  return cache;
}

/** The SQL of the statements kept for `connection`, least recently used first. */
export function cachedStatements(connection: DuckDBConnection): string[] {
  return caches.get(connection)?.kept() ?? [];
}

/** `connection.run(sql, params, types)`, with the statement prepared once per connection. */
export function runCached(connection: DuckDBConnection, sql: string, params?: Params, types?: ParamTypes): Promise<DuckDBMaterializedResult> {
  return cacheOf(connection).run(sql, params, types);
}

/** `connection.runAndReadAll(sql, params, types)`, with the statement prepared once per connection. */
export function readCached(connection: DuckDBConnection, sql: string, params?: Params, types?: ParamTypes): Promise<DuckDBResultReader> {
  return cacheOf(connection).runAndReadAll(sql, params, types);
}
