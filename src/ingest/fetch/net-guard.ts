/**
 * SSRF protection for crawls, checked on the resolved address at connect time.
 *
 * A crawl must not reach loopback, private, link-local (including the 169.254.169.254 cloud metadata
 * address), CGNAT, unspecified or other special addresses, nor the IPv6 forms that embed such an IPv4
 * address (mapped, translated, NAT64, 6to4, Teredo), unless the host, the IP or its network is allowlisted.
 * Every connection the dispatcher opens is checked (each redirect hop opens its own), and the address
 * checked is the address connected to, so neither redirects nor DNS tricks get around it. A refused connection is never attempted.
 *
 * @example
 * const dispatcher = createGuardedDispatcher({ allowPrivate: false, allowlist: ['docs.intranet'] });
 * const fetcher = new Fetcher({ dispatcher });
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';

/** Thrown (as the connection error) when the guard refuses an address. Its message says how to allow it. */
export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
  /** Stable error code, also visible on wrapped errors (`err.cause.code`). */
  readonly code = 'EBLOCKEDADDRESS';

  constructor(
    message: string,
    /** The host name (or IP literal) that was asked for. */
    readonly host: string = '',
    /** The address that was refused. */
    readonly address: string = '',
  ) {
    super(message);
  }
}

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", incl. the unspecified 0.0.0.0
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b:1::', 48], // NAT64 for local use (RFC 8215): its IPv4 may sit at any prefix length
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (private)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
function ipv6Groups(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let canonical: string;
  try {
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1); // WHATWG writes embedded IPv4 as hex
  } catch {
    return null;
  }
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * An IPv4 address embedded in an IPv6 one, which reaches that IPv4 host: IPv4-mapped
 * (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`, SIIT), NAT64 (`64:ff9b::a.b.c.d`), 6to4
 * (`2002:AABB:CCDD::`) and Teredo (`2001:0:…`, the client's IPv4 in the last 32 bits, inverted).
 */
function embeddedIPv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (!g) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return v4(g[6]!, g[7]!);
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return v4(g[6]!, g[7]!);
  if (g[0] === 0x2001 && g[1] === 0) return v4(g[6]! ^ 0xffff, g[7]! ^ 0xffff);
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4(g[6]!, g[7]!);
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!);
  return null;
}

/** The address to check, with its family: IPv6 forms that embed an IPv4 address are checked as that IPv4. */
function canonicalAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const bare = address.replace(/^\[|\]$/g, '');
  const v4 = embeddedIPv4(bare);
  if (v4) return { address: v4, family: 'ipv4' };
  return { address: bare, family: isIP(bare) === 6 ? 'ipv6' : 'ipv4' };
}

/**
 * True when the IP address is one a crawl must not reach by default: loopback (127/8, ::1), private
 * (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 incl. metadata, fe80::/10), CGNAT
 * (100.64/10), unspecified (0.0.0.0, ::), multicast, reserved and documentation ranges, and IPv6 forms
 * that embed one of those IPv4 addresses. Anything that is not an IP address counts as blocked.
 */
export function isBlockedAddress(address: string): boolean {
  const a = canonicalAddress(address);
  if (!isIP(a.address)) return true;
  return blocked.check(a.address, a.family);
}

/** What the SSRF guard lets through. */
export interface GuardOptions {
  /** Allow every address (e.g. a local CLI run against an intranet). */
  allowPrivate: boolean;
  /**
   * Exceptions: host names (`docs.intranet`, or `*.intranet` for any subdomain), IP addresses
   * (`127.0.0.1`, `::1`, `[::1]`) or CIDR networks (`10.1.0.0/16`, `fd00::/8`).
   */
  allowlist: readonly string[];
}

/**
 * The decision part of the guard, without any I/O: may a connection to `address`, resolved from
 * `host`, be opened? Used by the dispatcher for every connection, and usable on its own to refuse
 * a literal IP before a crawl is even queued.
 */
export class AddressPolicy {
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly allowed = new BlockList();

  /** @throws Error naming the entry when an allowlist CIDR is malformed */
  constructor(private readonly opts: GuardOptions) {
    for (const raw of opts.allowlist) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      const [netRaw, bits] = entry.split('/');
      const net = canonicalAddress(netRaw!);
      const kind = isIP(net.address);
      if (kind && bits !== undefined) {
        const prefix = Number(bits);
        const max = kind === 6 ? 128 : 32;
        if (!/^\d+$/.test(bits) || prefix > max) throw new Error(`invalid network "${raw}" in the host allowlist (DOCTOR_ALLOW_HOSTS): the prefix must be 0-${max}`);
        // An IPv4-mapped network (::ffff:10.0.0.0/104) is stored as its IPv4 network.
        const v4Prefix = kind === 4 && isIP(netRaw!.replace(/^\[|\]$/g, '')) === 6 ? Math.max(0, prefix - 96) : prefix;
        this.allowed.addSubnet(net.address, v4Prefix, kind === 6 ? 'ipv6' : 'ipv4');
      } else if (kind) {
        this.allowed.addAddress(net.address, kind === 6 ? 'ipv6' : 'ipv4');
      } else if (bits !== undefined) {
        throw new Error(`invalid network "${raw}" in the host allowlist (DOCTOR_ALLOW_HOSTS): give an IP network such as 10.1.0.0/16`);
      } else if (entry.startsWith('*.')) {
        this.suffixes.push(entry.slice(1));
      } else {
        this.hosts.add(entry.replace(/\.$/, ''));
      }
    }
  }

  /** True when connecting to `address` (resolved from `host`) is allowed. */
  allows(host: string, address: string): boolean {
    if (this.opts.allowPrivate || !isBlockedAddress(address)) return true;
    const h = host.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
    if (this.hosts.has(h) || this.suffixes.some((s) => h.endsWith(s))) return true;
    const a = canonicalAddress(address);
    return isIP(a.address) !== 0 && this.allowed.check(a.address, a.family);
  }

  /** @throws BlockedAddressError when connecting to `address` (resolved from `host`) is not allowed */
  check(host: string, address: string): void {
    if (this.allows(host, address)) return;
    const shown = host.replace(/^\[|\]$/g, '') === address ? host : `${host} (${address})`;
    throw new BlockedAddressError(
      `refused to connect to ${shown}: loopback, private, link-local and metadata addresses are blocked. ` +
        'Allow it with DOCTOR_ALLOW_HOSTS (or --allow-hosts) if this is intended.',
      host,
      address,
    );
  }
}

/** Resolves a host name to all of its addresses (the shape of `dns.lookup` with `all: true`). */
export type Resolver = (hostname: string, family: number) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname, family) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, family: family === 4 || family === 6 ? family : 0 }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/**
 * A `lookup` function for `net.connect` / `tls.connect` that resolves the host (all addresses, with
 * `dns.lookup` unless `resolve` is given) and fails with {@link BlockedAddressError} when any of them is
 * refused by `policy`. The socket then connects only to addresses that were checked.
 */
export function guardedLookup(policy: AddressPolicy, resolve: Resolver = systemResolver): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number | string } | number, callback: (...args: unknown[]) => void) => {
    const opts = typeof options === 'number' ? { family: options } : options ?? {};
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : Number(opts.family ?? 0);
    resolve(hostname, family).then(
      (addresses) => {
        if (addresses.length === 0) {
          return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }));
        }
        try {
          for (const a of addresses) policy.check(hostname, a.address);
        } catch (e) {
          return callback(e);
        }
        if (opts.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: unknown) => callback(err),
    );
  }) as unknown as LookupFunction;
}

/**
 * Wraps an undici connector so that a literal IP host (`http://10.0.0.1/`, `http://[::1]/`), which
 * never goes through DNS, is checked before `base` is asked to connect. Host names are checked by the
 * lookup of the base connector (see {@link guardedLookup}).
 */
export function guardConnector(policy: AddressPolicy, base: buildConnector.connector): buildConnector.connector {
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      try {
        policy.check(options.hostname, host);
      } catch (e) {
        callback(e as Error, null);
        return;
      }
    }
    base(options, callback);
  };
}

/** Options of {@link createGuardedDispatcher}. */
export interface GuardedDispatcherOptions extends GuardOptions {
  /** Connect timeout in ms (default 10 000). */
  connectTimeoutMs?: number;
  /** How host names are resolved (default: `dns.lookup`, all addresses). */
  resolve?: Resolver;
}

/**
 * An undici dispatcher that applies the SSRF policy to every connection it opens: literal IPs before
 * connecting, host names on every address they resolve to. Pass it to {@link Fetcher} (option
 * `dispatcher`); refused requests come back as `kind: 'blocked_address'`.
 *
 * @throws Error when an allowlist entry is malformed
 */
export function createGuardedDispatcher(opts: GuardedDispatcherOptions): Dispatcher {
  const policy = new AddressPolicy(opts);
  const base = buildConnector({
    lookup: guardedLookup(policy, opts.resolve),
    timeout: opts.connectTimeoutMs ?? 10_000,
  } as buildConnector.BuildOptions);
  return new Agent({ connect: guardConnector(policy, base) });
}
