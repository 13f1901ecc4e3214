/**
 * `doctor compact`: rewrites the database file without the space of deleted rows (src/db/compact.ts). Needs
 * the database to itself: stop the server first.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { describeLockHolder, recordLocalHolder } from '../app/local-holder.js';
import { readServerInfo } from '../app/server-info.js';
import { compactDatabase } from '../db/compact.js';
import { DatabaseLockedError } from '../db/database.js';
import { configFrom } from './global.js';
import { printJson, println } from './output.js';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function registerCompact(program: Command): void {
  program
    .command('compact')
    .description('rewrite the database file without the space of deleted rows (stop the server first)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      const server = await readServerInfo(config);
      if (server) {
        throw new Error(
          `A Doctor server (${server.url}, pid ${server.pid}) holds ${config.dbPath}. Stop it, run \`doctor compact\`, then start it again.`,
        );
      }
      if (config.dbPath === ':memory:' || !existsSync(config.dbPath)) {
        throw new Error(`No Doctor database at ${config.dbPath}: nothing to compact (pass --db-path or --data-dir).`);
      }
      let unrecord = () => {};
      // Ctrl-C while copying stops the copy: the original is untouched and the partial copy removed. A second one exits.
      const abort = new AbortController();
      const onSignal = () => {
        if (abort.signal.aborted) process.exit(130);
        abort.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      if (!o.json) process.stderr.write(`compacting ${config.dbPath} ...\n`);
      try {
        const result = await compactDatabase(config.dbPath, {
          threads: config.duckdbThreads,
          onOpened: () => (unrecord = recordLocalHolder(config, 'doctor compact')),
          signal: abort.signal,
        });
        if (o.json) return printJson(result);
        const freed = result.bytesBefore - result.bytesAfter;
        println(
          `compacted ${result.path}: ${mib(result.bytesBefore)} -> ${mib(result.bytesAfter)} ` +
            `(${freed > 0 ? `${mib(freed)} freed` : 'nothing to free'}) in ${result.seconds.toFixed(1)} s; ` +
            `${result.tables} tables, ${result.rows} rows, all kept.`,
        );
      } catch (e) {
        if (e instanceof DatabaseLockedError) throw new DatabaseLockedError(describeLockHolder(config, e.holderPid), e.holderPid);
        throw e;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        unrecord();
      }
    });
}
