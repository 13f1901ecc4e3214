/**
 * Doctor's configuration: one validated object.
 * Precedence: built-in defaults < environment variables < explicit overrides (CLI flags).
 * A bad value fails at start with a message naming the variable (or flag) and what is expected.
 */
import { isIP } from 'node:net';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { closestName } from '../closest-name.js';
import { z } from 'zod';

const bool = z.union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])]).transform((v) =>
  typeof v === 'boolean' ? v : ['1', 'true', 'yes', 'on'].includes(v),
);
/** A whole number in [min, max]; anything else gets one message saying so (not Zod's "expected int, received number"). */
const int = (min: number, max: number) => {
  const error = `must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`;
  return z.coerce.number({ error }).refine((n) => Number.isInteger(n) && n >= min && n <= max, { error });
};
const list = z.union([z.array(z.string()), z.string()]).transform((v) =>
  (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean),
);

/** Directories: a list, or one string with the platform's path separator (":") between them, like PATH. */
const dirList = z.union([z.array(z.string()), z.string()]).transform((v) =>
  (Array.isArray(v) ? v : v.split(delimiter)).map((s) => s.trim()).filter(Boolean).map((d) => resolve(d)),
);

const HOST_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * What is wrong with one SSRF allow-list entry, if anything. Entries are host names (`docs.intranet`, or
 * `*.intranet` for its subdomains), IP addresses (`127.0.0.1`, `::1`, `[::1]`) or CIDR networks
 * (`10.1.0.0/16`, `fd00::/8`), as the guard in src/ingest/fetch/net-guard.ts reads them.
 */
export function allowHostProblem(raw: string): string | undefined {
  const entry = raw.trim().toLowerCase();
  const expected = 'expected a host name, *.domain, an IP address or a CIDR network such as 10.1.0.0/16';
  const [net = '', bits, extra] = entry.split('/');
  const ip = net.replace(/^\[(.*)\]$/, '$1');
  if (bits !== undefined) {
    const kind = isIP(ip);
    if (!kind || extra !== undefined) return `"${raw}" is not a network: ${expected}`;
    const max = kind === 6 ? 128 : 32;
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${raw}": the prefix length must be a number from 0 to ${max}`;
    return undefined;
  }
  if (isIP(ip)) return undefined;
  const host = entry.replace(/^\*\./, '').replace(/\.$/, '');
  if (host.length > 253 || !host.split('.').every((label) => HOST_LABEL.test(label))) return `"${raw}" is not a valid entry: ${expected}`;
  return undefined;
}

const allowList = list.superRefine((entries, ctx) => {
  for (const e of entries) {
    const problem = allowHostProblem(e);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }
});

/** Each setting: its schema, default, and the environment variable that sets it. */
const settings = {
  dataDir: { env: 'DATA_DIR', schema: z.string().min(1), default: 'data' },
  dbPath: { env: 'DOCTOR_DB_PATH', schema: z.string().min(1).optional(), default: undefined },
  host: { env: 'DOCTOR_HOST', schema: z.string().min(1), default: '127.0.0.1' },
  port: { env: 'DOCTOR_PORT', schema: int(0, 65535), default: 9111 },
  apiToken: { env: 'DOCTOR_API_TOKEN', schema: z.string().min(8).optional(), default: undefined },
  logLevel: {
    env: 'DOCTOR_LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
  },
  readOnly: { env: 'DOCTOR_READ_ONLY', schema: bool, default: false },
  mcpSessionIdleMs: { env: 'DOCTOR_MCP_SESSION_IDLE_MS', schema: int(1_000, 7 * 24 * 3_600_000), default: 30 * 60_000 },
  mcpMaxSessions: { env: 'DOCTOR_MCP_MAX_SESSIONS', schema: int(1, 100_000), default: 1000 },

  embeddingProvider: { env: 'DOCTOR_EMBEDDING_PROVIDER', schema: z.enum(['auto', 'openai', 'local', 'lexical']), default: 'auto' },
  embeddingModel: { env: 'DOCTOR_EMBEDDING_MODEL', schema: z.string().min(1).optional(), default: undefined },
  embeddingDimension: { env: 'DOCTOR_EMBEDDING_DIM', schema: int(1, 65536).optional(), default: undefined },
  openaiApiKey: { env: 'OPENAI_API_KEY', schema: z.string().min(1).optional(), default: undefined },
  openaiBaseUrl: { env: 'OPENAI_BASE_URL', schema: z.string().url().optional(), default: undefined },
  // The local provider (src/embed/local.ts): where model files live and where they come from.
  modelDir: { env: 'DOCTOR_MODEL_DIR', schema: z.string().min(1).optional(), default: undefined },
  modelHost: { env: 'DOCTOR_MODEL_HOST', schema: z.string().url(), default: 'https://huggingface.co' },
  modelDownload: { env: 'DOCTOR_MODEL_DOWNLOAD', schema: bool, default: true },
  embeddingThreads: { env: 'DOCTOR_EMBEDDING_THREADS', schema: int(1, 256).optional(), default: undefined },
  // The longest the local model may take to load and embed its first text, and to embed one batch: ONNX Runtime
  // cannot interrupt a model, so a model that never finishes would otherwise hang the start or a request.
  modelTimeoutMs: { env: 'DOCTOR_MODEL_TIMEOUT_MS', schema: int(100, 3_600_000), default: 120_000 },

  vectorEngine: { env: 'DOCTOR_VECTOR_ENGINE', schema: z.enum(['auto', 'exact', 'vss', 'usearch']), default: 'auto' },
  vssExtensionPath: { env: 'DOCTOR_VSS_EXTENSION', schema: z.string().min(1).optional(), default: undefined },
  // INSTALL reaches DuckDB's extension server: opt-in, so an offline machine never tries the network.
  vssInstall: { env: 'DOCTOR_VSS_INSTALL', schema: bool, default: false },
  // bf16: same recall as f16 on embedding-like data, searches ~25% and builds ~30% faster (bench/results/vector-engines.md);
  // i8 caps recall@10 near 0.95.
  usearchQuantization: { env: 'DOCTOR_USEARCH_QUANTIZATION', schema: z.enum(['f32', 'f16', 'bf16', 'i8']), default: 'bf16' },
  // 32: at 300k embedding-like rows, recall@10 1.000 at ef 128 in 1.1 ms, where 16 needed ef 512 (2.3 ms) for
  // 0.999; builds take ~25% longer and the file ~4% more.
  usearchConnectivity: { env: 'DOCTOR_USEARCH_CONNECTIVITY', schema: int(4, 128), default: 32 },
  usearchExpansionAdd: { env: 'DOCTOR_USEARCH_EXPANSION_ADD', schema: int(8, 4096), default: 128 },
  // auto: 64 up to 100k rows (recall@10 1.000 in ~0.7 ms on embedding-like 1536-d vectors), growing with
  // the rows beyond (autoExpansionSearch in vector/usearch-protocol.ts). bench/results/vector-engines.md
  usearchExpansionSearch: {
    env: 'DOCTOR_USEARCH_EXPANSION_SEARCH',
    schema: z.union([z.literal('auto'), int(8, 4096)], { error: 'expected auto or a whole number from 8 to 4096' }),
    default: 'auto' as const,
  },

  workers: { env: 'DOCTOR_WORKERS', schema: int(1, 32), default: 2 },
  crawlConcurrency: { env: 'DOCTOR_CRAWL_CONCURRENCY', schema: int(1, 64), default: 4 },
  // Worker threads extracting and chunking crawled pages (src/ingest/process-pool.ts); unset: one per core but
  // one (at least one), 0: on the main thread.
  extractWorkers: { env: 'DOCTOR_EXTRACT_WORKERS', schema: int(0, 64).optional(), default: undefined },
  // Longest a worker thread may work on one page before the page fails and the worker is replaced.
  extractTimeoutMs: { env: 'DOCTOR_EXTRACT_TIMEOUT_MS', schema: int(100, 3_600_000), default: 120_000 },
  // DuckDB's worker threads (src/db/database.ts); unset: one per core but one (at least one).
  duckdbThreads: { env: 'DOCTOR_DUCKDB_THREADS', schema: int(1, 256).optional(), default: undefined },
  perHostConcurrency: { env: 'DOCTOR_PER_HOST_CONCURRENCY', schema: int(1, 64), default: 4 },
  perHostDelayMs: { env: 'DOCTOR_PER_HOST_DELAY_MS', schema: int(0, 60_000), default: 50 },
  requestTimeoutMs: { env: 'DOCTOR_REQUEST_TIMEOUT_MS', schema: int(100, 600_000), default: 20_000 },
  maxPageBytes: { env: 'DOCTOR_MAX_PAGE_BYTES', schema: int(1024, 1024 * 1024 * 1024), default: 10 * 1024 * 1024 },
  maxRedirects: { env: 'DOCTOR_MAX_REDIRECTS', schema: int(0, 20), default: 5 },
  userAgent: { env: 'DOCTOR_USER_AGENT', schema: z.string().min(1).optional(), default: undefined },
  respectRobots: { env: 'DOCTOR_RESPECT_ROBOTS', schema: bool, default: true },
  render: { env: 'DOCTOR_RENDER', schema: z.enum(['never', 'auto', 'always']), default: 'auto' },
  chromiumPath: { env: 'DOCTOR_CHROMIUM_PATH', schema: z.string().min(1), default: '/usr/bin/chromium' },
  allowPrivateNetwork: { env: 'DOCTOR_ALLOW_PRIVATE', schema: bool, default: false },
  allowHosts: { env: 'DOCTOR_ALLOW_HOSTS', schema: allowList, default: [] as string[] },
  // Remote crawling (src/ingest/remote/): the server hands page work to `doctor worker` processes through Redis.
  redisUrl: { env: 'DOCTOR_REDIS_URL', schema: z.string().regex(/^rediss?:\/\/./, 'expected redis://host:port').optional(), default: undefined },
  redisPagesInFlight: { env: 'DOCTOR_REDIS_PAGES_IN_FLIGHT', schema: int(1, 4096), default: 64 },
  workerConcurrency: { env: 'DOCTOR_WORKER_CONCURRENCY', schema: int(1, 1024), default: 8 },
  workerLockMs: { env: 'DOCTOR_WORKER_LOCK_MS', schema: int(500, 600_000), default: 30_000 },
  chunkSize: { env: 'DOCTOR_CHUNK_SIZE', schema: int(200, 20_000), default: 1000 },
  chunkOverlap: { env: 'DOCTOR_CHUNK_OVERLAP', schema: int(0, 5_000), default: 200 },
  // Directories below which REST and MCP callers may index local files (doctor add); none by default.
  allowLocal: { env: 'DOCTOR_ALLOW_LOCAL', schema: dirList, default: [] as string[] },
} as const;

type Settings = typeof settings;
export type SettingName = keyof Settings;
export type DoctorConfig = { [K in SettingName]: z.output<Settings[K]['schema']> } & { dbPath: string; modelDir: string };
export type ConfigOverrides = { [K in SettingName]?: unknown };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Settings whose values an error message must not print (they end up in terminals, logs and CI output). */
const SECRETS = new Set<SettingName>(['apiToken', 'openaiApiKey']);

/** The environment variable behind each setting (for docs and error messages). */
export const envVarOf = (name: SettingName): string => settings[name].env;
export const settingNames = Object.keys(settings) as SettingName[];

/**
 * Builds the configuration. `overrides` come from CLI flags (undefined entries are ignored);
 * `env` defaults to process.env. Throws ConfigError naming every bad variable, and a bad flag by
 * `flagNames` (the flag as the user typed it, e.g. `--concurrency` for workerConcurrency), else
 * `--setting-name`.
 */
export function loadConfig(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  flagNames: { [K in SettingName]?: string } = {},
): DoctorConfig {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of settingNames) {
    const s = settings[name];
    const flag = overrides[name];
    const fromEnv = env[s.env];
    const source =
      flag !== undefined ? `option ${flagNames[name] ?? `--${kebab(name)}`}` : fromEnv !== undefined && fromEnv !== '' ? s.env : undefined;
    const raw = flag !== undefined ? flag : source ? fromEnv : s.default;
    const parsed = (s.schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => i.message).join('; ');
      const shown = SECRETS.has(name) && typeof raw === 'string' ? `(hidden, ${raw.length} characters)` : JSON.stringify(raw);
      problems.push(`${source ?? name}=${shown}: ${why}`);
      continue;
    }
    out[name] = parsed.data;
  }
  if (out.chunkOverlap !== undefined && out.chunkSize !== undefined && Number(out.chunkOverlap) >= Number(out.chunkSize)) {
    problems.push(`DOCTOR_CHUNK_OVERLAP (${out.chunkOverlap}) must be smaller than DOCTOR_CHUNK_SIZE (${out.chunkSize})`);
  }
  if (problems.length) {
    throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}\nFix the values above and start again.`);
  }
  const dataDir = out.dataDir as string;
  if (!out.dbPath) out.dbPath = join(dataDir, 'doctor.duckdb');
  else if (out.dbPath !== ':memory:' && !isAbsolute(out.dbPath as string)) out.dbPath = resolve(out.dbPath as string);
  out.modelDir = resolve((out.modelDir as string | undefined) ?? join(dataDir, 'models'));
  return out as DoctorConfig;
}

/**
 * Environment variables that look like Doctor settings but are not one (DOCTOR_DATA_DIR for DATA_DIR, a
 * misspelt DOCTOR_EMBEDING_MODEL): each a warning naming the variable meant, if one is close. Such a variable
 * is ignored, and without a word the setting would silently keep its default.
 */
export function unknownSettingVars(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = settingNames.map(envVarOf);
  // read by compose.yaml and scripts/, not by Doctor itself: not misspellings
  const others = ['DOCTOR_WITH_CHROMIUM', 'DOCTOR_IMAGE_CACHE'];
  const out: string[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('DOCTOR_') || known.includes(name) || others.includes(name)) continue;
    const meant = closestName(name, known, 'DOCTOR_');
    out.push(`${name} is not a Doctor setting and is ignored${meant ? `: did you mean ${meant}?` : ' (see the README for the settings)'}`);
  }
  return out;
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}
