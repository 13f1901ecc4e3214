/**
 * SSRF protection, checked on the resolved address at connect time: crawls cannot reach loopback,
 * private, link-local (incl. the 169.254.169.254 metadata address), CGNAT or unspecified addresses unless
 * allowlisted. Because every connection is checked (each redirect hop opens its own), DNS tricks and
 * redirects cannot get around it.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';

export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
  readonly code = 'EBLOCKEDADDRESS';
}

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is checked as IPv4. */
function unmap(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

export function isBlockedAddress(address: string): boolean {
  const a = unmap(address);
  return blocked.check(a.address, a.family);
}

export interface GuardOptions {
  /** Allow every address (e.g. a local CLI run against an intranet). */
  allowPrivate: boolean;
  /** Host names, IPs or CIDRs (a.b.c.d/n) allowed despite the guard. */
  allowlist: readonly string[];
}

export class AddressPolicy {
  private readonly hosts = new Set<string>();
  private readonly allowed = new BlockList();

  constructor(private readonly opts: GuardOptions) {
    for (const entry of opts.allowlist) {
      const [net, bits] = entry.split('/');
      const kind = isIP(net ?? '');
      if (kind && bits !== undefined) this.allowed.addSubnet(net!, Number(bits), kind === 6 ? 'ipv6' : 'ipv4');
      else if (kind) this.allowed.addAddress(net!, kind === 6 ? 'ipv6' : 'ipv4');
      else this.hosts.add(entry.toLowerCase());
    }
  }

  /** Throws when connecting to `address` (resolved from `host`) is not allowed. */
  check(host: string, address: string): void {
    if (this.opts.allowPrivate || !isBlockedAddress(address)) return;
    if (this.hosts.has(host.toLowerCase())) return;
    const a = unmap(address);
    if (this.allowed.check(a.address, a.family)) return;
    throw new BlockedAddressError(
      `refused to connect to ${host} (${address}): loopback, private, link-local and metadata addresses are blocked. ` +
        'Allow it with DOCTOR_ALLOW_HOSTS (or --allow-hosts) if this is intended.',
    );
  }
}

export function guardedLookup(policy: AddressPolicy): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err);
      try {
        for (const a of addresses) policy.check(hostname, a.address);
      } catch (e) {
        return callback(e);
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as unknown as LookupFunction;
}

/** An undici dispatcher that applies the policy to every connection it opens. */
export function createGuardedDispatcher(opts: GuardOptions & { connectTimeoutMs?: number }): Dispatcher {
  const policy = new AddressPolicy(opts);
  const base = buildConnector({ lookup: guardedLookup(policy), timeout: opts.connectTimeoutMs ?? 10_000 } as buildConnector.BuildOptions);
  const connect: buildConnector.connector = (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      try {
        policy.check(host, host);
      } catch (e) {
        return callback(e as Error, null);
      }
    }
    return base(options, callback);
  };
  return new Agent({ connect });
}
