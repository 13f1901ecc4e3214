/**
 * Per-host politeness shared by every crawl worker through Redis: at most `max` requests in flight to one
 * host, and request starts at least `delayMs` apart, whichever worker sends them. A slot is a lease: a worker
 * killed mid-request loses it after `leaseMs`, so a dead worker cannot hold a host forever.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { hostKeys } from './protocol.js';
import { sleep } from '../fetch/sleep.js';

// KEYS: slots zset, next-start key. ARGV: max, delay ms, token, lease ms.
// Returns the wait before the request may start (ms, the slot is taken), or -1 when every slot is busy.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
local delay = tonumber(ARGV[2])
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
local start = math.max(now, nxt)
redis.call('SET', KEYS[2], start + delay, 'PX', delay + 60000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return start - now
`;

export interface HostLimits {
  max: number;
  delayMs: number;
}

export class RedisHostGate {
  private readonly limits = new Map<string, HostLimits>();

  constructor(
    private readonly redis: Redis,
    private readonly defaults: () => HostLimits,
    private readonly leaseMs: number,
  ) {}

  /** A longer delay for one host (robots.txt Crawl-delay). */
  setLimits(host: string, limits: HostLimits): void {
    if (this.limits.size > 10_000) this.limits.clear();
    this.limits.set(host, limits);
  }

  /** Waits for a slot on the URL's host; resolves with its release. */
  async acquire(url: string, signal?: AbortSignal): Promise<() => void> {
    const host = new URL(url).host;
    const { max, delayMs } = this.limits.get(host) ?? this.defaults();
    const keys = hostKeys(host);
    const token = randomUUID();
    for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
      signal?.throwIfAborted();
      const wait = Number(await this.redis.eval(ACQUIRE, 2, keys.slots, keys.next, max, delayMs, token, this.leaseMs));
      if (wait >= 0) {
        const release = () => void this.redis.zrem(keys.slots, token).catch(() => {});
        try {
          if (wait > 0) await sleep(wait, signal);
        } catch (e) {
          release();
          throw e;
        }
        return release;
      }
      await sleep(pause, signal);
    }
  }
}
