/**
 * Redis connections for remote crawling. Commands wait through a Redis restart (ioredis reconnects with
 * back-off and replays queued commands), as BullMQ's workers require; only the first contact fails fast,
 * so a wrong URL is reported at start instead of hanging.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../../log.js';

/** A connection; `lazy` ones connect with connectRedis (BullMQ connects the others itself). */
export function openRedis(url: string, log: Logger, name: string, lazy = true): Redis {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`"${url}" is not a Redis URL: expected redis://host:port (DOCTOR_REDIS_URL or --redis)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`"${url}" is not a Redis URL: expected redis://host:port or rediss://host:port (DOCTOR_REDIS_URL or --redis)`);
  }
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: lazy,
    connectionName: `doctor-${name}`,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  });
  let down = false;
  redis.on('error', (e: Error) => {
    if (!down) log.warn({ redis: redactUrl(url), err: e.message }, 'Redis connection lost; reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info({ redis: redactUrl(url) }, 'Redis connection back');
    down = false;
  });
  return redis;
}

/** Connects, or fails within `timeoutMs` with a message that says what to do. */
export async function connectRedis(redis: Redis, url: string, timeoutMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (redis.status === 'wait' ? redis.connect().catch((e: Error) => {
        // BullMQ may have started connecting this client already
        if (!/already connect/i.test(e.message)) throw e;
      }) : Promise.resolve()).then(() => redis.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), timeoutMs);
      }),
    ]);
  } catch (e) {
    redis.disconnect();
    throw new Error(
      `cannot reach Redis at ${redactUrl(url)} (${(e as Error).message}): start redis-server there or fix DOCTOR_REDIS_URL / --redis`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
