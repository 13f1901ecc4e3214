/**
 * `doctor models list` and `doctor models pull [name]`: the local embedding provider's models — which are
 * known (with the settings their model cards ask for), which are downloaded, and fetching one ahead of time.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { downloadProgress } from '../app/download-progress.js';
import {
  DEFAULT_LOCAL_MODEL,
  KNOWN_LOCAL_MODELS,
  LocalEmbedder,
  describeLocal,
  mayUseLocal,
  modelFiles,
  pullLocalModel,
  resolveLocalModel,
  type LocalModel,
} from '../embed/index.js';
import { configFrom } from './global.js';
import { printJson, println } from './output.js';

interface ModelRow {
  model: string;
  dimension: number | null;
  pooling: string;
  query_prefix: string;
  document_prefix: string;
  status: 'downloaded' | 'partial' | 'missing';
  missing: string[];
  bytes: number;
  dir: string;
  /** DOCTOR_EMBEDDING_MODEL names it (or it is the default) */
  configured: boolean;
  /** the embedder Doctor uses with this configuration: configured, downloaded, and the provider picks a local model */
  in_use: boolean;
  note: string;
}

function dirBytes(dir: string): number {
  let total = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
    }
  } catch {
    /* missing */
  }
  return total;
}

function row(m: LocalModel, configured: string, note: string): ModelRow {
  const files = modelFiles(m.dir);
  const bytes = dirBytes(m.dir);
  return {
    model: m.name,
    dimension: m.dimension ?? null,
    pooling: m.pooling,
    query_prefix: m.queryPrefix,
    document_prefix: m.documentPrefix,
    status: files.missing.length === 0 ? 'downloaded' : bytes > 0 ? 'partial' : 'missing',
    missing: files.missing,
    bytes,
    dir: m.dir,
    configured: m.name === configured,
    in_use: false,
    note,
  };
}

/** Other model directories under the model dir (`<org>/<name>` holding a config.json). */
function otherModels(modelDir: string, known: Set<string>): string[] {
  const out: string[] = [];
  try {
    for (const org of readdirSync(modelDir, { withFileTypes: true })) {
      if (!org.isDirectory()) continue;
      for (const name of readdirSync(join(modelDir, org.name), { withFileTypes: true })) {
        const id = `${org.name}/${name.name}`;
        if (name.isDirectory() && !known.has(id)) {
          try {
            if (statSync(join(modelDir, id, 'config.json')).isFile()) out.push(id);
          } catch {
            /* not a model */
          }
        }
      }
    }
  } catch {
    /* no model dir yet */
  }
  return out;
}

/** Why no local model is starred: which embedder this configuration uses instead. */
function noLocalModel(provider: string, hasKey: boolean, configured: string): string {
  if (provider === 'lexical') return 'No local model is in use: DOCTOR_EMBEDDING_PROVIDER=lexical embeds with the offline lexical embedder.';
  if (provider === 'openai') return 'No local model is in use: DOCTOR_EMBEDDING_PROVIDER=openai embeds through the OpenAI-compatible API.';
  if (provider === 'auto' && hasKey) return 'No local model is in use: OPENAI_API_KEY is set, so DOCTOR_EMBEDDING_PROVIDER=auto embeds through the OpenAI-compatible API.';
  if (provider === 'auto') {
    return `No local model is in use: ${configured} (DOCTOR_EMBEDDING_MODEL; default ${DEFAULT_LOCAL_MODEL}) is not downloaded, so DOCTOR_EMBEDDING_PROVIDER=auto embeds with the offline lexical embedder until it is.`;
  }
  return `No local model is in use (DOCTOR_EMBEDDING_PROVIDER=${provider}).`;
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

export function registerModels(program: Command): void {
  const models = program.command('models').description('local embedding models (DOCTOR_EMBEDDING_PROVIDER=local): list, download');

  models
    .command('list')
    .description('known models and their settings, and which are downloaded (in DOCTOR_MODEL_DIR)')
    .option('--json', 'print the raw JSON result')
    .action((o: { json?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      let configured = DEFAULT_LOCAL_MODEL;
      try {
        configured = resolveLocalModel(config.embeddingModel, config.modelDir).name;
      } catch {
        /* DOCTOR_EMBEDDING_MODEL names a model of another provider */
      }
      const rows = KNOWN_LOCAL_MODELS.map((k) => row(resolveLocalModel(k.id, config.modelDir), configured, `${k.note}; ~${k.sizeMb} MB`));
      for (const id of otherModels(config.modelDir, new Set(KNOWN_LOCAL_MODELS.map((k) => k.id)))) {
        rows.push(row(resolveLocalModel(id, config.modelDir), configured, 'not in the table: settings from its files or defaults'));
      }
      const local = mayUseLocal({ provider: config.embeddingProvider, apiKey: config.openaiApiKey });
      const mine = rows.find((r) => r.configured);
      // `local` loads (or downloads) the configured model; `auto` without a key uses it only when its files are there.
      if (mine && local && (config.embeddingProvider === 'local' || mine.status === 'downloaded')) mine.in_use = true;
      const inUse = mine?.in_use ? mine.model : null;
      if (o.json) return printJson({ model_dir: config.modelDir, provider: config.embeddingProvider, in_use: inUse, models: rows });
      println(`models in ${config.modelDir} (DOCTOR_MODEL_DIR):`);
      for (const r of rows) {
        const prefixes = r.query_prefix || r.document_prefix ? `, prefixes ${JSON.stringify(r.query_prefix)} / ${JSON.stringify(r.document_prefix)}` : '';
        println(
          `${r.in_use ? '*' : ' '} ${r.model.padEnd(34)} ${String(r.dimension ?? '?').padStart(4)}-d  ${r.status.padEnd(10)} ${r.bytes ? mb(r.bytes).padStart(9) : '         '}  ${r.pooling} pooling${prefixes}; ${r.note}`,
        );
      }
      println(inUse ? `* = in use (DOCTOR_EMBEDDING_PROVIDER=${config.embeddingProvider}, DOCTOR_EMBEDDING_MODEL; default ${DEFAULT_LOCAL_MODEL}).` : noLocalModel(config.embeddingProvider, config.openaiApiKey !== undefined, configured));
      println('Fetch one with: doctor models pull <model>');
    });

  models
    .command('pull [model]')
    .description(`download a model from the model hub into DOCTOR_MODEL_DIR, then check that it loads (default: the configured model, else ${DEFAULT_LOCAL_MODEL}; not with DOCTOR_MODEL_DOWNLOAD=false)`)
    .option('--json', 'print the result as JSON')
    .action(async (name: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const config = configFrom(cmd);
      let wanted = name;
      if (wanted === undefined && config.embeddingModel && config.embeddingProvider !== 'openai' && config.embeddingProvider !== 'lexical') {
        try {
          resolveLocalModel(config.embeddingModel, config.modelDir);
          wanted = config.embeddingModel; // the configured local model
        } catch {
          /* DOCTOR_EMBEDDING_MODEL names an OpenAI-compatible model: pull the default */
        }
      }
      let m = resolveLocalModel(wanted, config.modelDir);
      if (!m.hubId) throw new Error(`${m.dir} is a directory: the local provider uses it as is (DOCTOR_EMBEDDING_MODEL=${m.dir}); there is nothing to pull.`);
      const before = modelFiles(m.dir).missing;
      if (before.length) {
        const view = downloadProgress(m.name);
        try {
          await pullLocalModel(m, config.modelDir, config.modelHost, (p) => view.update(p), config.modelDownload);
        } finally {
          view.stop();
        }
        m = resolveLocalModel(wanted, config.modelDir);
      }
      const embedder = await LocalEmbedder.open(m, { threads: config.embeddingThreads, timeoutMs: config.modelTimeoutMs, host: config.modelHost });
      await embedder.close();
      const result = { model: m.name, dir: m.dir, dimension: embedder.dimension, downloaded: before.length > 0, bytes: dirBytes(m.dir) };
      if (o.json) return printJson(result);
      println(`${before.length ? 'downloaded' : 'already here:'} ${describeLocal(embedder)}, ${mb(result.bytes)}.`);
      println(`Use it with DOCTOR_EMBEDDING_PROVIDER=local${m.name === DEFAULT_LOCAL_MODEL ? '' : ` DOCTOR_EMBEDDING_MODEL=${m.name}`} (or auto, without OPENAI_API_KEY).`);
    });
}
