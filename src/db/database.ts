/**
 * DuckDB access: one instance per database file, one write connection (serialised by a mutex, used for
 * every write and transaction; a bulk load may take a second one for overlapping transactions, see
 * pipelined) and a small pool of read connections (MVCC snapshots, so reads never wait for a crawl's write
 * transaction).
 *
 * Fair sharing between reads and writes: every DuckDB call occupies a thread of libuv's small pool (4
 * threads) while it runs, and a call on a busy connection blocks its thread until the connection is free.
 * Handing 30 concurrent searches' queries straight to the connections filled that pool and queued each of a
 * crawl's write statements behind dozens of reads (crawl rate fell ~25x). Reads therefore wait here, in
 * order, for an idle read connection: at most `readers` reads are in flight, and the writer always finds a
 * thread. Waiting reads are served round-robin by lane (read-lane.ts): API requests share one lane, so a
 * crawl's own reads get their turn however many searches are waiting.
 */
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DuckDBConnection, DuckDBInstance } from './duckdb.js';
import { ConnectionPool, Mutex } from './mutex.js';
import { readLane } from './read-lane.js';
import { cachedStatements, readCached, runCached } from './statement-cache.js';

import type { ParamTypes, Params } from './params.js';

export type { ParamTypes, Params };
export type Row = Record<string, unknown>;

/** What a transaction callback gets: the write connection, inside BEGIN ... COMMIT. */
export interface Tx {
  run(sql: string, params?: Params, types?: ParamTypes): Promise<void>;
  all<T = Row>(sql: string, params?: Params, types?: ParamTypes): Promise<T[]>;
  readonly connection: DuckDBConnection;
  /** Registers work to run after COMMIT succeeds (e.g. updating an index file); skipped on rollback. */
  onCommit(fn: () => void | Promise<void>): void;
  /**
   * Whether writes may be buffered until the end of the transaction (a group commit of many small writes):
   * stores that see it append their rows once, just before COMMIT, instead of once per call.
   */
  readonly batched: boolean;
  /**
   * Per-transaction state of `owner` (e.g. rows buffered for one appender), created on first use; `flush`
   * runs once inside the transaction, before COMMIT, in the order the states were created.
   */
  deferred<T>(owner: object, create: () => T, flush: (state: T) => Promise<void>): T;
  /** Runs the deferred appends now; the transaction stays open (a group commit that stays open for a while). */
  flushDeferred(): Promise<void>;
}

/** Transactions that overlap (Database.pipelined). */
export interface TxPipeline {
  /**
   * Runs `fn` in a transaction of its own, on one of the pipeline's two connections once it is free (when the
   * transaction started two before this one has ended): its statements run while the one started before it
   * commits. It commits after that one, and rolls back with that one's error if that one failed. Two
   * transactions started one after the other may be open together, so they must write different rows.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/** Options of Database.transaction. */
export interface TransactionOptions {
  /** Let stores buffer their appends until COMMIT (see Tx.batched). */
  batched?: boolean;
}

export class DatabaseLockedError extends Error {
  override name = 'DatabaseLockedError';
  constructor(
    message: string,
    /** The process holding the file, as DuckDB reports it. */
    readonly holderPid?: number,
  ) {
    super(message);
  }
}

/**
 * A write failed because the disk (or the user's quota) holding the database is full; the message says what to
 * do. What was committed before is kept (the failed transaction rolled back).
 */
export class DiskFullError extends Error {
  override name = 'DiskFullError';
}

/** The file cannot be used as Doctor's database (damaged, not DuckDB, not writable); the message says what to do. */
export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

/** The file system refused a write to the database (a read-only directory, file or mount): it may still open read-only. */
export class DatabaseNotWritableError extends DatabaseOpenError {
  override name = 'DatabaseNotWritableError';
}

export interface OpenOptions {
  /** DuckDB worker threads (default: defaultDuckdbThreads()). */
  threads?: number;
  /** Read connections in the pool (default 2). */
  readers?: number;
  /**
   * Let DuckDB download and load extensions it knows of on its own (autoinstall/autoload_known_extensions).
   * Off by default: an offline machine must never try, and a hostile file (a SQLite database given as the
   * database) must not make DuckDB fetch code. Doctor turns it on only with DOCTOR_VSS_INSTALL.
   */
  allowExtensionInstall?: boolean;
  /**
   * Rows per row group for what this session appends (DuckDB's ATTACH option ROW_GROUP_SIZE). Default for a
   * file: DEFAULT_ROW_GROUP_SIZE (DuckDB's own default is 122,880). A transaction that appends at least a row
   * group's worth of rows has them written straight into the file ("optimistic writes"): no copy in the WAL at
   * COMMIT and nothing for the checkpoint to rewrite. Crawls commit in groups of about this many chunk rows
   * (src/ingest/group-writer.ts) and the Qdrant migration in transactions of this many points.
   */
  rowGroupSize?: number;
  /** Open the file read-only (DuckDB's READ_ONLY attach): nothing can be written, and other processes may open it read-only too. */
  readOnly?: boolean;
}

/**
 * DuckDB's threads when not configured: one per core but one (at least one). Doctor's statements are small
 * (appends, lookups by id, a frontier update) and Doctor's own threads (page extraction, embedding, the vector
 * index) already use the cores; handing each statement's work to DuckDB's pool cost a crawl of
 * python3.11-doc 66 instead of 62 ms of CPU per page on 2 cores (DuckDB's default: one thread per core).
 * Large scans (exports, the exact vector engine) gain from more: DOCTOR_DUCKDB_THREADS.
 */
export function defaultDuckdbThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * The row group size files are opened with: DuckDB's vector size, the smallest it accepts. With DuckDB's
 * default (122,880 rows) every crawl commit went through the WAL and the final checkpoint rewrote it all (on
 * python3.11-doc: 1.45 s after an 18 s crawl; see bench/results/crawl.md).
 */
export const DEFAULT_ROW_GROUP_SIZE = 2048;

/** DuckDB's default number of vacuum tasks per checkpoint (see Database.checkpoint). */
const VACUUM_TASKS = 100;

const SQLITE_MAGIC = 'SQLite format 3\0';
/** The catalog name of a file opened through ATTACH (OpenOptions.rowGroupSize). */
export const DATABASE_CATALOG = 'doctor';

/** The first bytes of a file, or undefined when it does not exist or cannot be read. */
function fileHead(path: string, n: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const WHERE_ELSE = 'point DOCTOR_DB_PATH (--db-path) or DATA_DIR (--data-dir) at another file';

/** DuckDB's error on opening a file, as a message that says what is wrong and what to do. */
function openError(path: string, e: unknown): Error {
  const msg = (e as Error).message ?? String(e);
  const first = msg.split('\n')[0]!;
  if (/hnsw/i.test(msg)) {
    return new DatabaseOpenError(
      `The database ${path} holds an HNSW index from DuckDB's vss extension, which cannot be loaded here (${first}). ` +
        'Open it once with a DuckDB that has vss (e.g. the duckdb CLI: INSTALL vss; LOAD vss; DROP INDEX <name>;), ' +
        'or set DOCTOR_VSS_EXTENSION to a local copy of the extension; Doctor then rebuilds its own index.',
    );
  }
  if (/Could not set lock/i.test(msg)) {
    const pid = Number(/\(PID (\d+)\)/.exec(msg)?.[1]) || undefined;
    return new DatabaseLockedError(
      `The database ${path} is in use by ${pid ? `process ${pid}` : 'another process'}. ` +
        'Wait for it to finish or stop it; with `doctor serve` running, CLI commands share the database through it ' +
        '(a server in another container cannot be reached: run the command in its container, `docker compose exec doctor doctor ...`).',
      pid,
    );
  }
  return damaged(path, e) ?? diskFull(path, e) ?? notWritable(path, e) ?? (e as Error);
}

/**
 * The database's directory cannot be made because a file stands where a directory must be (DATA_DIR naming
 * a regular file), as a message naming that file and what to do.
 */
function notADirectory(path: string, e: unknown): DatabaseOpenError | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'EEXIST' && code !== 'ENOTDIR') return undefined;
  // the nearest existing path above the database: the file in the way
  let file = dirname(path);
  for (;;) {
    try {
      if (statSync(file).isDirectory()) return undefined;
      break;
    } catch {
      if (dirname(file) === file) return undefined;
      file = dirname(file);
    }
  }
  return new DatabaseOpenError(
    `${file} is a file, not a directory, so the database ${path} cannot be created below it: point DATA_DIR (--data-dir) ` +
      'at a directory (it is created if missing) or DOCTOR_DB_PATH (--db-path) at a file in one. Doctor left the file as it is.',
  );
}

/** A file DuckDB cannot read as a database (truncated copy, garbage), as a message saying what to do. */
function damaged(path: string, e: unknown): DatabaseOpenError | undefined {
  const msg = (e as Error).message ?? String(e);
  if (!/not a valid DuckDB database|Could not read enough bytes|Corrupt|invalid (database|block)|Failed to (read|load) (the )?(database )?header|Serialization Error/i.test(msg)) {
    return undefined;
  }
  return new DatabaseOpenError(
    `The database file ${path} is damaged or is not a DuckDB database (${msg.split('\n')[0]}). Doctor left it as it is. ` +
      `Restore it from a backup (a copy taken while no Doctor process was running), or ${WHERE_ELSE} to start a new database.`,
  );
}

/** A write that found the disk full, as a message saying what to do. */
function diskFull(path: string, e: unknown): DiskFullError | undefined {
  const msg = (e as Error).message ?? String(e);
  if (!/No space left on device|ENOSPC|Disk quota exceeded|EDQUOT/i.test(msg)) return undefined;
  return new DiskFullError(
    `The disk holding ${dirname(path)} is full (${/quota|EDQUOT/i.test(msg) ? 'disk quota exceeded' : 'no space left on device'}): ` +
      `free space on it, or ${WHERE_ELSE} on a larger disk (copy the database there to keep its pages), then try again. ` +
      'Everything committed before is kept.',
  );
}

/** A write refused by the file system (read-only directory or file), as a message saying what to do. */
function notWritable(path: string, e: unknown): DatabaseOpenError | undefined {
  const msg = (e as Error).message ?? String(e);
  if (/attached in read-only mode|append to a readonly database/i.test(msg)) {
    return new DatabaseOpenError(
      `The database ${path} is open read-only (this process cannot write it), so it cannot ` +
        `be changed: make ${dirname(path)} and the file writable by this user, then run the command again.`,
    );
  }
  if (!/Permission denied|Read-only file system|EACCES|EROFS|EPERM/i.test(msg)) return undefined;
  return new DatabaseNotWritableError(
    `Doctor cannot write ${path} (${msg.split('\n')[0]}): make ${dirname(path)} and the file writable by this user ` +
      `(DuckDB also writes ${basename(path)}.wal beside it), or ${WHERE_ELSE} in a writable directory ` +
      '(copy the database there to keep its pages). To search it as it is, `doctor serve --read-only` and `doctor mcp --read-only` open it read-only.',
  );
}

/** A failed write, explained when the file system refused it (a full disk, a read-only file); else as it is. */
function writeError(path: string, e: unknown): unknown {
  return diskFull(path, e) ?? notWritable(path, e) ?? e;
}

/** Errors of the file behind an open database (damaged blocks, a write refused), explained; others as they are. */
export function explainDatabaseError(path: string, e: unknown): Error {
  if (e instanceof DatabaseOpenError || e instanceof DatabaseLockedError || e instanceof DiskFullError) return e;
  return damaged(path, e) ?? diskFull(path, e) ?? notWritable(path, e) ?? (e as Error);
}

export class Database {
  private readonly writeMutex = new Mutex();
  private readonly readerPool: ConnectionPool<DuckDBConnection>;
  /** Snapshots running on connections of their own: close() waits for them. */
  private readonly snapshots = new Set<Promise<unknown>>();
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Rows were deleted since the last checkpoint (the next one vacuums). */
  private deletedSinceCheckpoint = false;
  /** The row group size the file was opened with (undefined in memory). */
  rowGroupSize: number | undefined;

  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly readers: DuckDBConnection[],
    /** A new connection to this database (the attached one when opened with rowGroupSize). */
    private readonly connect: () => Promise<DuckDBConnection>,
  ) {
    this.readerPool = new ConnectionPool(readers);
  }

  /** The SQL of the prepared statements kept for reuse (./statement-cache.ts): the write connection's, then each reader's. */
  cachedStatements(): { writer: string[]; readers: string[][] } {
    return { writer: cachedStatements(this.writer), readers: this.readers.map(cachedStatements) };
  }

  /** Opens (creating if needed) a database file, or ':memory:'. */
  static async open(path: string, opts: OpenOptions = {}): Promise<Database> {
    if (path !== ':memory:') {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (e) {
        throw notADirectory(path, e) ?? openError(path, e);
      }
      if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
        throw new DatabaseOpenError(
          `${path} is a directory, not a database file: point DOCTOR_DB_PATH (--db-path) at a file ` +
            `(e.g. ${join(path, 'doctor.duckdb')}), or give the directory as DATA_DIR (--data-dir). Doctor left it as it is.`,
        );
      }
      if (fileHead(path, SQLITE_MAGIC.length)?.toString('latin1') === SQLITE_MAGIC) {
        throw new DatabaseOpenError(
          `${path} is a SQLite database, not a DuckDB one: Doctor keeps everything in one DuckDB file. ` +
            `Doctor left it as it is; ${WHERE_ELSE} (a new file starts a new database).`,
        );
      }
    }
    const extensions = opts.allowExtensionInstall ? 'true' : 'false';
    const config: Record<string, string> = { autoinstall_known_extensions: extensions, autoload_known_extensions: extensions };
    config.threads = String(opts.threads ?? defaultDuckdbThreads());
    let instance: DuckDBInstance;
    let attached: string | undefined;
    let rowGroupSize: number | undefined;
    try {
      if (path !== ':memory:') {
        // Storage options exist only on ATTACH: an in-memory instance attaches the file and every connection
        // USEs it. ATTACH takes no bound parameters: the path is a quoted literal, quotes doubled.
        const size = Math.trunc(opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE);
        if (!(size >= 2048)) throw new Error(`rowGroupSize must be at least 2048 (DuckDB's vector size), not ${opts.rowGroupSize}`);
        rowGroupSize = size;
        // An in-memory instance would spill to ./.tmp; spill beside the file, as a file instance does.
        instance = await DuckDBInstance.create(':memory:', { ...config, temp_directory: `${path}.tmp` });
        const setup = await instance.connect();
        try {
          await setup.run(`ATTACH '${path.replaceAll("'", "''")}' AS ${DATABASE_CATALOG} (${opts.readOnly ? 'READ_ONLY' : `ROW_GROUP_SIZE ${size}`})`);
        } finally {
          setup.closeSync();
        }
        attached = DATABASE_CATALOG;
      } else {
        instance = await DuckDBInstance.create(path, config);
      }
    } catch (e) {
      throw openError(path, e);
    }
    const connect = async (): Promise<DuckDBConnection> => {
      const conn = await instance.connect();
      if (attached) await conn.run(`USE ${attached}`);
      return conn;
    };
    const writer = await connect();
    // Float vectors compress poorly and ALP/ALPRD decoding makes vector scans ~3x slower. FSST (string
    // compression) makes fetching single rows slow: reading the payloads of search_docs' 10 results took
    // 4.2 ms with it and 2.3 ms without at 100k chunks, for a 7% larger file (crawl of postgresql-doc-15:
    // 55.5 -> 59.3 MB; vectors are most of it). Dictionary and RLE compression stay.
    await writer.run("SET disabled_compression_methods = 'alp,alprd,fsst'");
    // The default 16 MB WAL threshold checkpoints every ~2,700 vectors, and each checkpoint rewrites the
    // open row group: bulk loads fell from ~14,000 to ~2,700 vectors/s at 100k rows. Checkpoint rarely
    // (and explicitly after bulk work, see checkpoint()).
    await writer.run("SET checkpoint_threshold = '1GB'");
    // A checkpoint's vacuum merges small row groups with their neighbours, rewriting them. Crawl commits
    // leave one partly filled row group each: vacuuming after a crawl of python3.11-doc took ~2 s where the
    // checkpoint alone takes ~0.15 s. So checkpoints vacuum only when rows were deleted since the last one
    // (their space is reclaimed then); see checkpoint().
    await writer.run('SET max_vacuum_tasks = 0');
    // A large append (one 20 MB document's ~20,000 chunks) writes its full row groups to the file while the
    // appender flushes, on this thread. DuckDB buffers 5 of them and writes them together: one flush in five
    // then took ~0.7 s instead of ~0.15 s, and the server answered nothing meanwhile. One at a time spreads it.
    await writer.run('SET write_buffer_row_group_count = 1');
    const readers: DuckDBConnection[] = [];
    for (let i = 0; i < (opts.readers ?? 2); i++) readers.push(await connect());
    const db = new Database(path, instance, writer, readers, connect);
    db.rowGroupSize = rowGroupSize;
    db.readOnly = !!opts.readOnly && path !== ':memory:';
    return db;
  }

  /** Opened read-only (OpenOptions.readOnly): every write fails, and nothing beside the file is saved. */
  readOnly = false;

  get isMemory(): boolean {
    return this.path === ':memory:';
  }

  /** A read query on a pooled connection (sees committed data only). */
  async all<T = Row>(sql: string, params?: Params, types?: ParamTypes): Promise<T[]> {
    this.assertOpen();
    return this.readerPool.use(async (conn) => {
      const reader = await readCached(conn, sql, params, types);
      return reader.getRowObjectsJS() as T[];
    }, readLane.getStore());
  }

  /** One write statement, on its own (auto-commit), serialised with transactions. */
  async run(sql: string, params?: Params, types?: ParamTypes): Promise<void> {
    this.assertOpen();
    await this.writeMutex.runExclusive(async () => {
      try {
        this.noteDeleted(sql, (await runCached(this.writer, sql, params, types)).rowsChanged);
      } catch (e) {
        throw writeError(this.path, e);
      }
    });
  }

  /**
   * Runs `fn` inside one transaction on the write connection: all of it commits, or none of it
   * (any error rolls back and is rethrown).
   */
  async transaction<T>(fn: (tx: Tx) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    this.assertOpen();
    // Commit hooks run outside the write lock: they may take a while (index files) and must not block writers.
    const { result, commitHooks } = await this.writeMutex.runExclusive(() => this.transactionOn(this.writer, fn, opts));
    await this.runHooks(commitHooks);
    return result;
  }

  /**
   * Write transactions that overlap, for a bulk load (the Qdrant migration): while one commits, the next one
   * already runs its statements (appends), on a second connection; they commit in the order they were
   * started. A COMMIT that writes whole row groups is as long as the appends before it (compressing and
   * writing them), so one connection left the other step waiting each time: 24 transactions of 2,048
   * 1536-d rows took 3.3 s one after the other and 2.0 s overlapped, for the same CPU time.
   *
   * Concurrent transactions must not write the same rows: DuckDB fails the later one (a write-write
   * conflict, or a duplicate key when both insert it). Appending new rows and deleting different ones is
   * safe; a value updated by every transaction (a resume point) must alternate between two keys (see
   * TxPipeline). While `fn` runs, the pipeline is the database's only writer: other writes wait for it, and
   * its transactions' commit hooks (run in commit order) must not write through this Database.
   */
  async pipelined<T>(fn: (pipe: TxPipeline) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.writeMutex.runExclusive(async () => {
      const second = await this.connect();
      const conns = [this.writer, second];
      // when each connection's last transaction ended (settled); when the last one started committed (or failed)
      const ended: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
      let lastCommit: Promise<unknown> = Promise.resolve();
      // the transactions' commit hooks, in commit order
      let hooks: Promise<unknown> = Promise.resolve();
      let started = 0;
      const pipe: TxPipeline = {
        transaction: <R>(txFn: (tx: Tx) => Promise<R>): Promise<R> => {
          const slot = started++ % conns.length;
          const free = ended[slot]!;
          const before = lastCommit;
          const committed = (async () => {
            await free;
            // commits in order, and not after a failed one (its error is this one's too)
            return this.transactionOn(conns[slot]!, txFn, {}, () => before);
          })();
          lastCommit = committed;
          const done = committed.then(async ({ result, commitHooks }) => {
            hooks = hooks.then(() => this.runHooks(commitHooks));
            await hooks;
            return result;
          });
          ended[slot] = done.catch(() => undefined);
          return done;
        },
      };
      try {
        return await fn(pipe);
      } finally {
        await Promise.all(ended);
        second.closeSync();
      }
    });
  }

  /**
   * Runs `fn` inside one transaction on `conn` (BEGIN ... COMMIT; any error rolls back and is rethrown);
   * `beforeCommit` is awaited just before COMMIT. Returns the hooks to run once committed.
   */
  private async transactionOn<T>(
    conn: DuckDBConnection,
    fn: (tx: Tx) => Promise<T>,
    opts: TransactionOptions,
    beforeCommit?: () => Promise<unknown>,
  ): Promise<{ result: T; commitHooks: Array<() => void | Promise<void>> }> {
    const commitHooks: Array<() => void | Promise<void>> = [];
    const states = new Map<object, { state: unknown; flush: (state: unknown) => Promise<void> }>();
    // a flush may defer more work (chunk rows -> keyword rows): run until nothing is left
    const flushDeferred = async () => {
      for (let round = 0; states.size > 0; round++) {
        if (round > 10) throw new Error('deferred writes kept deferring more writes');
        const pending = [...states.values()];
        states.clear();
        for (const { state, flush } of pending) await flush(state);
      }
    };
    const tx: Tx = {
      connection: conn,
      flushDeferred,
      batched: opts.batched === true,
      onCommit: (fn) => {
        commitHooks.push(fn);
      },
      deferred: <S>(owner: object, create: () => S, flush: (state: S) => Promise<void>): S => {
        let entry = states.get(owner);
        if (!entry) {
          entry = { state: create(), flush: flush as (state: unknown) => Promise<void> };
          states.set(owner, entry);
        }
        return entry.state as S;
      },
      run: async (sql, params, types) => {
        this.noteDeleted(sql, (await runCached(conn, sql, params, types)).rowsChanged);
      },
      all: async <R = Row>(sql: string, params?: Params, types?: ParamTypes) => {
        const reader = await readCached(conn, sql, params, types);
        const rows = reader.getRowObjectsJS() as R[];
        // DELETE ... RETURNING counts its rows in what it returns
        this.noteDeleted(sql, Math.max(reader.rowsChanged, rows.length));
        return rows;
      },
    };
    await conn.run('BEGIN TRANSACTION');
    let result: T;
    try {
      result = await fn(tx);
      await flushDeferred();
      await beforeCommit?.();
      await conn.run('COMMIT');
    } catch (e) {
      try {
        await conn.run('ROLLBACK');
      } catch {
        /* the transaction may already be aborted */
      }
      throw writeError(this.path, e);
    }
    return { result, commitHooks };
  }

  private async runHooks(hooks: Array<() => void | Promise<void>>): Promise<void> {
    for (const hook of hooks) {
      try {
        await hook();
      } catch (e) {
        this.onHookError(e);
      }
    }
  }

  /**
   * Runs `fn` on a connection of its own inside one read transaction: every statement sees the same
   * committed state (e.g. an export's pages and its chunks), while writers go on. Nothing `fn` does is
   * committed to the database (the transaction is rolled back); files it writes with COPY stay.
   */
  async snapshot<T>(fn: (q: Pick<Tx, 'run' | 'all' | 'connection'>) => Promise<T>): Promise<T> {
    this.assertOpen();
    const running = this.runSnapshot(fn);
    const tracked = running.catch(() => undefined);
    this.snapshots.add(tracked);
    try {
      return await running;
    } finally {
      this.snapshots.delete(tracked);
    }
  }

  private async runSnapshot<T>(fn: (q: Pick<Tx, 'run' | 'all' | 'connection'>) => Promise<T>): Promise<T> {
    const conn = await this.connect();
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

  /** Interrupts the statement running on the write connection (it fails with DuckDB's "Interrupted!"). */
  interruptWrite(): void {
    this.writer.interrupt();
  }

  /** Writes the WAL into the database file. */
  async checkpoint(): Promise<void> {
    if (this.isMemory || this.readOnly) return;
    if (!this.deletedSinceCheckpoint) {
      await this.run('CHECKPOINT');
      return;
    }
    this.deletedSinceCheckpoint = false;
    await this.writeMutex.runExclusive(async () => {
      await this.writer.run(`SET max_vacuum_tasks = ${VACUUM_TASKS}`);
      try {
        await this.writer.run('CHECKPOINT');
      } finally {
        await this.writer.run('SET max_vacuum_tasks = 0');
      }
    });
  }

  /** Notes a DELETE that removed rows: the next checkpoint vacuums (reclaims their space). */
  private noteDeleted(sql: string, changed: number): void {
    if (changed > 0 && !this.deletedSinceCheckpoint && /^\s*DELETE\b/i.test(sql)) this.deletedSinceCheckpoint = true;
  }

  /**
   * Closes the database once the work already under way is done: queued writes, reads running or
   * waiting for a connection, and snapshots. New calls fail with "The database is closed". (Closing a
   * connection under a running query can hang the process or abort it from native code.)
   */
  close(): Promise<void> {
    // one close for every caller: a second drain would wait forever for connections the first one took
    this.closing ??= this.writeMutex.runExclusive(async () => {
      this.closed = true;
      const readers = await this.readerPool.drain();
      await Promise.all([...this.snapshots]);
      for (const r of readers) r.closeSync();
      // DuckDB checkpoints as it closes: let that one vacuum when rows were deleted since the last checkpoint
      if (this.deletedSinceCheckpoint && !this.isMemory) {
        await this.writer.run(`SET max_vacuum_tasks = ${VACUUM_TASKS}`).catch(() => undefined);
      }
      this.writer.closeSync();
      this.instance.closeSync();
    });
    return this.closing;
  }

  /** Where errors from commit hooks go (the data is committed; the hook's owner must recover). */
  onHookError: (e: unknown) => void = (e) => {
    process.emitWarning(`post-commit hook failed: ${(e as Error).message}`);
  };

  private assertOpen(): void {
    if (this.closed) throw new Error('The database is closed.');
  }
}
