/**
 * A CLI command that opens the database itself (no server running: `doctor crawl`, `doctor mcp`, ...) records
 * itself in `<data dir>/local.json`, as a server does in server.json. DuckDB lets one process hold the file;
 * when another command then finds it locked, it can say which command holds it and what to do, instead of
 * DuckDB's "Could not set lock on file".
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DoctorConfig } from '../config/config.js';
import { serverInfoPath, type ServerInfo } from './server-info.js';

export interface LocalHolder {
  pid: number;
  /** The command line, e.g. `doctor crawl https://docs.example/`. */
  command: string;
  dbPath: string;
  startedAt: string;
  /** `doctor serve`: it holds the file before it announces itself in server.json, and after it removes that. */
  server?: boolean;
}

export const localHolderPath = (config: DoctorConfig): string => join(dirname(resolve(config.dbPath)), 'local.json');

/** Records this process as the database's holder; returns the function that removes the record. */
export function recordLocalHolder(config: DoctorConfig, command: string, opts: { server?: boolean } = {}): () => void {
  if (config.dbPath === ':memory:') return () => {};
  const path = localHolderPath(config);
  const holder: LocalHolder = { pid: process.pid, command, dbPath: resolve(config.dbPath), startedAt: new Date().toISOString(), ...(opts.server ? { server: true } : {}) };
  try {
    writeFileSync(path, JSON.stringify(holder, null, 2));
  } catch {
    return () => {}; // a read-only directory: the database opened, so only the record is lost
  }
  return () => {
    const current = readJson<LocalHolder>(path);
    if (current?.pid === process.pid) rmSync(path, { force: true });
  };
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

const time = (iso: string) => (/T(\d\d:\d\d:\d\d)/.exec(iso)?.[1] ?? iso);

/**
 * What to tell a user whose command found the database locked by process `pid` (as DuckDB reports it).
 */
export function describeLockHolder(config: DoctorConfig, pid: number | undefined): string {
  const db = resolve(config.dbPath);
  const who = pid ? `process ${pid}` : 'another process';
  const server = readJson<ServerInfo>(serverInfoPath(config));
  if (server && server.dbPath === db && (pid === undefined || server.pid === pid)) {
    return (
      `The database ${db} is held by the Doctor server at ${server.url} (process ${server.pid}), which does not answer. ` +
      'Wait for it to finish starting, or stop it (Ctrl-C in its terminal, or kill ' + server.pid + ') and run the command again. ' +
      // A server in another container answers on its own 127.0.0.1, which this container cannot reach.
      'In Docker, a server in another container cannot be reached from this one: run the command in its container, ' +
      '`docker compose exec doctor doctor ...`.'
    );
  }
  const local = readJson<LocalHolder>(localHolderPath(config));
  if (local?.server && local.dbPath === db && (pid === undefined || local.pid === pid)) {
    return (
      `The database ${db} is held by a Doctor server (\`${local.command}\`, process ${local.pid}) that is starting or stopping. ` +
      'Run the command again in a moment: once the server answers, commands go through it.'
    );
  }
  if (local && local.dbPath === db && (pid === undefined || local.pid === pid)) {
    return (
      `The database ${db} is in use by \`${local.command}\` (process ${local.pid}, since ${time(local.startedAt)}), which runs without a server. ` +
      `Wait for it to finish, or stop it (Ctrl-C in its terminal, or kill ${local.pid}). ` +
      'To search or crawl while a crawl runs, start `doctor serve` first: every command then goes through the server.'
    );
  }
  return (
    `The database ${db} is in use by ${who} (DuckDB lets one process open it). If that is a Doctor command, wait for it to ` +
    `finish or stop it${pid ? ` (kill ${pid})` : ''}; run \`doctor serve\` to let several commands share the database.`
  );
}
