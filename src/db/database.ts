/**
 * DuckDB access: one instance per database file, one write connection (serialised by a mutex, used for
 * every write and transaction) and a small pool of read connections (MVCC snapshots, so reads never wait
 * for a crawl's write transaction).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DuckDBConnection,
  DuckDBInstance,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { Mutex } from './mutex.js';

export type Params = DuckDBValue[] | Record<string, DuckDBValue>;
export type ParamTypes = DuckDBType[] | Record<string, DuckDBType | undefined>;
export type Row = Record<string, unknown>;

/** What a transaction callback gets: the write connection, inside BEGIN ... COMMIT. */
export interface Tx {
  run(sql: string, params?: Params, types?: ParamTypes): Promise<void>;
  all<T = Row>(sql: string, params?: Params, types?: ParamTypes): Promise<T[]>;
  readonly connection: DuckDBConnection;
  /** Registers work to run after COMMIT succeeds (e.g. updating an index file); skipped on rollback. */
  onCommit(fn: () => void | Promise<void>): void;
}

export class DatabaseLockedError extends Error {
  override name = 'DatabaseLockedError';
}

export interface OpenOptions {
  /** DuckDB worker threads (default: DuckDB's own choice). */
  threads?: number;
  /** Read connections in the pool (default 2). */
  readers?: number;
}

export class Database {
  private readonly writeMutex = new Mutex();
  private readerIndex = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly readers: DuckDBConnection[],
  ) {}

  /** Opens (creating if needed) a database file, or ':memory:'. */
  static async open(path: string, opts: OpenOptions = {}): Promise<Database> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const config: Record<string, string> = {};
    if (opts.threads) config.threads = String(opts.threads);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, config);
    } catch (e) {
      const msg = (e as Error).message;
      if (/hnsw/i.test(msg)) {
        throw new Error(
          `The database ${path} holds an HNSW index from DuckDB's vss extension, which cannot be loaded here (${msg.split('\n')[0]}). ` +
            'Open it once with a DuckDB that has vss (e.g. the duckdb CLI: INSTALL vss; LOAD vss; DROP INDEX <name>;), ' +
            'or set DOCTOR_VSS_EXTENSION to a local copy of the extension; Doctor then rebuilds its own index.',
        );
      }
      if (/lock/i.test(msg)) {
        throw new DatabaseLockedError(
          `The database ${path} is in use by another Doctor process (${msg.split('\n')[0]}). ` +
            'Stop that process, or talk to it: CLI commands use a running `doctor serve` automatically when they can reach it ' +
            '(a server in another container cannot be reached: run the command in its container, `docker compose exec doctor doctor ...`).',
        );
      }
      throw e;
    }
    const writer = await instance.connect();
    // Float vectors compress poorly and ALP/ALPRD decoding makes vector scans ~3x slower. FSST (string
    // compression) makes fetching single rows slow: reading the payloads of search_docs' 10 results took
    // 4.2 ms with it and 2.3 ms without at 100k chunks, for a 7% larger file (crawl of postgresql-doc-15:
    // 55.5 -> 59.3 MB; vectors are most of it). Dictionary and RLE compression stay.
    await writer.run("SET disabled_compression_methods = 'alp,alprd,fsst'");
    // The default 16 MB WAL threshold checkpoints every ~2,700 vectors, and each checkpoint rewrites the
    // open row group: bulk loads fell from ~14,000 to ~2,700 vectors/s at 100k rows. Checkpoint rarely
    // (and explicitly after bulk work, see checkpoint()).
    await writer.run("SET checkpoint_threshold = '1GB'");
    const readers: DuckDBConnection[] = [];
    for (let i = 0; i < (opts.readers ?? 2); i++) readers.push(await instance.connect());
    return new Database(path, instance, writer, readers);
  }

  get isMemory(): boolean {
    return this.path === ':memory:';
  }

  /** A read query on a pooled connection (sees committed data only). */
  async all<T = Row>(sql: string, params?: Params, types?: ParamTypes): Promise<T[]> {
    this.assertOpen();
    const conn = this.readers[this.readerIndex++ % this.readers.length]!;
    const reader = await conn.runAndReadAll(sql, params, types);
    return reader.getRowObjectsJS() as T[];
  }

  /** One write statement, on its own (auto-commit), serialised with transactions. */
  async run(sql: string, params?: Params, types?: ParamTypes): Promise<void> {
    this.assertOpen();
    await this.writeMutex.runExclusive(async () => {
      await this.writer.run(sql, params, types);
    });
  }

  /**
   * Runs `fn` inside one transaction on the write connection: all of it commits, or none of it
   * (any error rolls back and is rethrown).
   */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.writeMutex.runExclusive(async () => {
      const conn = this.writer;
      const commitHooks: Array<() => void | Promise<void>> = [];
      const tx: Tx = {
        connection: conn,
        onCommit: (fn) => {
          commitHooks.push(fn);
        },
        run: async (sql, params, types) => {
          await conn.run(sql, params, types);
        },
        all: async <R = Row>(sql: string, params?: Params, types?: ParamTypes) => {
          const reader = await conn.runAndReadAll(sql, params, types);
          return reader.getRowObjectsJS() as R[];
        },
      };
      await conn.run('BEGIN TRANSACTION');
      let result: T;
      try {
        result = await fn(tx);
        await conn.run('COMMIT');
      } catch (e) {
        try {
          await conn.run('ROLLBACK');
        } catch {
          /* the transaction may already be aborted */
        }
        throw e;
      }
      return { result, commitHooks };
    }).then(async ({ result, commitHooks }) => {
      // Outside the write lock: hooks may take a while (index files) and must not block writers.
      for (const hook of commitHooks) {
        try {
          await hook();
        } catch (e) {
          this.onHookError(e);
        }
      }
      return result;
    });
  }

  /**
   * Runs `fn` on a connection of its own inside one read transaction: every statement sees the same
   * committed state (e.g. an export's pages and its chunks), while writers go on. Nothing `fn` does is
   * committed to the database (the transaction is rolled back); files it writes with COPY stay.
   */
  async snapshot<T>(fn: (q: Pick<Tx, 'run' | 'all' | 'connection'>) => Promise<T>): Promise<T> {
    this.assertOpen();
    const conn = await this.instance.connect();
    try {
      await conn.run('BEGIN TRANSACTION');
      try {
        return await fn({
          connection: conn,
          run: async (sql, params, types) => {
            await conn.run(sql, params, types);
          },
          all: async <R = Row>(sql: string, params?: Params, types?: ParamTypes) =>
            (await conn.runAndReadAll(sql, params, types)).getRowObjectsJS() as R[],
        });
      } finally {
        await conn.run('ROLLBACK').catch(() => undefined);
      }
    } finally {
      conn.closeSync();
    }
  }

  /** Writes the WAL into the database file. */
  async checkpoint(): Promise<void> {
    if (this.isMemory) return;
    await this.run('CHECKPOINT');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writeMutex.runExclusive(async () => {
      this.closed = true;
      for (const r of this.readers) r.closeSync();
      this.writer.closeSync();
      this.instance.closeSync();
    });
  }

  /** Where errors from commit hooks go (the data is committed; the hook's owner must recover). */
  onHookError: (e: unknown) => void = (e) => {
    process.emitWarning(`post-commit hook failed: ${(e as Error).message}`);
  };

  private assertOpen(): void {
    if (this.closed) throw new Error('The database is closed.');
  }
}
