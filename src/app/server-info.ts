/**
 * The running server announces itself in the data directory (`server.json`: url, pid, database path and a
 * random instance id), so CLI commands and `doctor mcp` talk to it instead of opening the locked database
 * file.
 *
 * The file is only a hint, and CLI requests carry DOCTOR_API_TOKEN: the CLI talks only to a loopback address
 * from it, and only once /health on that address answers with the recorded instance id, i.e. the server that
 * wrote the file is the one answering (not some other program that took the port, nor a forged file naming
 * another machine).
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
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
  /** Random per server process; /health returns it as instance_id. */
  instanceId: string;
  /** Sent by the CLI with export/import requests, which take paths on this machine (src/http/portable.ts). */
  localKey?: string;
}

/** server.json names a server the CLI must not talk to; the message says why and what to do. */
export class UntrustedServerError extends Error {
  override name = 'UntrustedServerError';
}

/** Loopback: localhost, 127.0.0.0/8, ::1 (also as an IPv4-mapped address). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export const serverInfoPath = (config: DoctorConfig): string => join(dirname(resolve(config.dbPath)), 'server.json');

/** A new instance id for a server process. */
export const newInstanceId = (): string => randomUUID();

export function writeServerInfo(config: DoctorConfig, url: string, instanceId: string, localKey?: string): void {
  const path = serverInfoPath(config);
  mkdirSync(dirname(path), { recursive: true });
  const info: ServerInfo = { url, pid: process.pid, dbPath: resolve(config.dbPath), startedAt: new Date().toISOString(), instanceId, localKey };
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

/**
 * The server holding this database, if one is alive and answering; stale files are ignored.
 * @throws UntrustedServerError when the file names a live process but a non-loopback address, or another
 * server answers at its address.
 */
export async function readServerInfo(config: DoctorConfig): Promise<ServerInfo | undefined> {
  if (config.dbPath === ':memory:') return undefined;
  const path = serverInfoPath(config);
  let info: ServerInfo;
  try {
    info = JSON.parse(readFileSync(path, 'utf8')) as ServerInfo;
  } catch {
    return undefined;
  }
  if (!info || typeof info !== 'object' || info.dbPath !== resolve(config.dbPath) || !Number.isInteger(info.pid) || !isAlive(info.pid)) return undefined;
  let url: URL;
  try {
    url = new URL(info.url);
  } catch {
    return undefined;
  }
  if (!/^https?:$/.test(url.protocol) || !isLoopbackHost(url.hostname)) {
    throw new UntrustedServerError(
      `${path} names ${info.url} (process ${info.pid}), which is not a loopback address: the CLI only talks to a Doctor server on ` +
        'this machine (127.0.0.1, ::1, localhost), so it sends neither requests nor DOCTOR_API_TOKEN there. ' +
        'If that server is yours, start it on loopback (doctor serve --host 127.0.0.1, or 0.0.0.0); otherwise delete the file.',
    );
  }
  let health: { instance_id?: unknown };
  try {
    const res = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(3000), redirect: 'error' });
    if (!res.ok) return undefined;
    health = (await res.json()) as { instance_id?: unknown };
  } catch {
    return undefined; // not answering: no server there
  }
  if (typeof info.instanceId !== 'string' || health.instance_id !== info.instanceId) {
    throw new UntrustedServerError(
      `The server answering at ${info.url} is not the one recorded in ${path} (its instance id differs), so the CLI does not ` +
        `send it requests or DOCTOR_API_TOKEN. If no Doctor server is running for this data directory, delete ${path}; ` +
        'otherwise restart `doctor serve`.',
    );
  }
  return { ...info, url: url.origin };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
