/**
 * The running server announces itself in the data directory (`server.json`: url, pid, database path), so
 * CLI commands and `doctor mcp` talk to it instead of opening the locked database file.
 */
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DoctorConfig } from '../config/config.js';

/** The header carrying `localKey` (export/import requests of the local CLI). */
export const LOCAL_KEY_HEADER = 'x-doctor-local-key';

export interface ServerInfo {
  url: string;
  pid: number;
  dbPath: string;
  startedAt: string;
  /** Sent by the CLI with export/import requests, which take paths on this machine (src/http/portable.ts). */
  localKey?: string;
}

export const serverInfoPath = (config: DoctorConfig): string => join(dirname(resolve(config.dbPath)), 'server.json');

export function writeServerInfo(config: DoctorConfig, url: string, localKey?: string): void {
  const path = serverInfoPath(config);
  mkdirSync(dirname(path), { recursive: true });
  const info: ServerInfo = { url, pid: process.pid, dbPath: resolve(config.dbPath), startedAt: new Date().toISOString(), localKey };
  // Readable by this user only (it holds the local key); removed first so that the mode applies to a new file.
  rmSync(path, { force: true });
  writeFileSync(path, JSON.stringify(info, null, 2), { mode: 0o600 });
}

export function removeServerInfo(config: DoctorConfig): void {
  try {
    const info = JSON.parse(readFileSync(serverInfoPath(config), 'utf8')) as ServerInfo;
    if (info.pid === process.pid) rmSync(serverInfoPath(config), { force: true });
  } catch {
    /* nothing to remove */
  }
}

/** The server holding this database, if one is alive and answering; stale files are ignored. */
export async function readServerInfo(config: DoctorConfig): Promise<ServerInfo | undefined> {
  if (config.dbPath === ':memory:') return undefined;
  let info: ServerInfo;
  try {
    info = JSON.parse(readFileSync(serverInfoPath(config), 'utf8')) as ServerInfo;
  } catch {
    return undefined;
  }
  if (info.dbPath !== resolve(config.dbPath) || !isAlive(info.pid)) return undefined;
  try {
    const res = await fetch(new URL('/health', info.url), { signal: AbortSignal.timeout(3000) });
    if (res.ok || res.status === 401) return info;
  } catch {
    /* not answering */
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
