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
  // a lazy connection that has not been ready yet is connectRedis's to report (once, with what to do)
  let down = lazy;
  redis.on('error', (e: Error) => {
    if (!down) log.warn({ redis: redactUrl(url), err: e.message }, 'Redis connection lost; reconnecting');
    down = true;
  });
  let wasReady = !lazy;
  redis.on('ready', () => {
    if (down && wasReady) log.info({ redis: redactUrl(url) }, 'Redis connection back');
    down = false;
    wasReady = true;
  });
  return redis;
}

/**
 * Connects, or fails with a message that says what to do: at the first connection error (a refused
 * connection, an unknown host; ioredis would retry forever), or after `timeoutMs` without an answer.
 */
export async function connectRedis(redis: Redis, url: string, timeoutMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onError: ((e: Error) => void) | undefined;
  try {
    await Promise.race([
      (redis.status === 'wait' ? redis.connect().catch((e: Error) => {
        // BullMQ may have started connecting this client already
        if (!/already connect/i.test(e.message)) throw e;
      }) : Promise.resolve()).then(() => redis.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), timeoutMs);
        onError = reject;
        redis.once('error', onError);
      }),
    ]);
  } catch (e) {
    redis.disconnect();
    const why = (e as Error).message;
    let what = 'start redis-server there or fix DOCTOR_REDIS_URL / --redis';
    if (/^(NOAUTH|WRONGPASS)\b/.test(why)) what = 'put its password in the URL (redis://:password@host:port, or user:password@) in DOCTOR_REDIS_URL / --redis';
    // a TLS client waits for a handshake a plain Redis never answers
    else if (why === 'no answer' && url.startsWith('rediss:')) what = 'rediss:// speaks TLS: use redis:// for a Redis without TLS (DOCTOR_REDIS_URL / --redis)';
    throw new Error(`cannot reach Redis at ${redactUrl(url)} (${why}): ${what}`);
  } finally {
    clearTimeout(timer);
    if (onError) redis.off('error', onError);
  }
}

/**
 * Warns, once per process and in words, when Redis may evict keys (BullMQ only prints "IMPORTANT! Eviction
 * policy is ..." once per connection): evicted page jobs and results are asked for again, so crawls slow
 * down, and pages whose results keep being evicted are skipped. Ignores a Redis that does not tell (INFO refused).
 */
export async function warnIfEvicting(redis: Redis, url: string, log: Logger): Promise<void> {
  if (warnedEviction) return;
  const info = await redis.info('memory').catch(() => '');
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  if (!policy || policy === 'noeviction') return;
  warnedEviction = true;
  log.warn(
    { redis: redactUrl(url), policy },
    `Redis has maxmemory-policy ${policy}: when full it deletes queued crawl pages and their results, which crawls then ` +
      'ask for again or skip. Set it to noeviction (redis-cli CONFIG SET maxmemory-policy noeviction, and in redis.conf)',
  );
}
let warnedEviction = false;

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
