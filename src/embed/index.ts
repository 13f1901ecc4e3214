/** Chooses the embedder from configuration. */
import { EmbeddingError, type Embedder } from './embedder.js';
import { LexicalEmbedder } from './lexical.js';
import { DEFAULT_LOCAL_MODEL, modelFiles, modelPresent, missingModelMessage, resolveLocalModel, type LocalModel } from './local-models.js';
import { OpenAIEmbedder } from './openai.js';
import type { DownloadProgress } from './local-protocol.js';
import { LocalEmbedder, ModelTimeoutError, downloadModel } from './local.js';

export { EmbeddingError, type Embedder, type EmbeddingErrorCode, type EmbedOptions } from './embedder.js';
export { LexicalEmbedder, LEXICAL_MODEL } from './lexical.js';
export { OpenAIEmbedder, probeDimension, KNOWN_DIMENSIONS, type OpenAIEmbedderOptions } from './openai.js';
export { LocalEmbedder, downloadModel, type DownloadProgress } from './local.js';
export {
  DEFAULT_LOCAL_MODEL,
  KNOWN_LOCAL_MODELS,
  knownModel,
  modelFiles,
  modelPresent,
  resolveLocalModel,
  type KnownModel,
  type LocalModel,
} from './local-models.js';

export interface EmbedderConfig {
  provider: 'auto' | 'openai' | 'local' | 'lexical';
  apiKey?: string;
  baseUrl?: string;
  model?: string;
  dimension?: number;
  /** Local provider: where hub models are kept (`<modelDir>/<id>/`). */
  modelDir?: string;
  /** Local provider: the model hub's base URL (default https://huggingface.co). */
  modelHost?: string;
  /** Local provider: download a missing hub model (default true). `auto` never downloads. */
  modelDownload?: boolean;
  /** Local provider: ONNX Runtime threads. */
  threads?: number;
  /** Local provider: deadline for loading the model and embedding a first text, and for each batch (ms). */
  timeoutMs?: number;
  /** Local provider: download progress (a progress bar). */
  onDownloadProgress?: (p: DownloadProgress) => void;
}

const DEFAULT_HOST = 'https://huggingface.co';

/**
 * The OpenAI-compatible or lexical embedder (synchronous; `openEmbedder` also handles `local`).
 * `auto` uses OpenAI-compatible embeddings when an API key is configured, the offline lexical embedder
 * otherwise (and says so once through `log`). `openai` without a key is allowed: local servers
 * (Ollama, LM Studio, vLLM at a custom baseUrl) usually need none. The lexical embedder ignores `model`
 * and `baseUrl` and uses `dimension` when given (default 1536).
 * Throws an EmbeddingError when the configuration cannot work (e.g. an unknown model without a dimension).
 */
export function createEmbedder(cfg: EmbedderConfig, log: (msg: string) => void = () => {}): Embedder {
  if (cfg.provider === 'local') throw new EmbeddingError('model', 'the local provider loads a model: use openEmbedder().');
  const provider = cfg.provider === 'auto' ? (cfg.apiKey ? 'openai' : 'lexical') : cfg.provider;
  if (provider === 'openai') {
    const e = new OpenAIEmbedder({ apiKey: cfg.apiKey, baseUrl: cfg.baseUrl, model: cfg.model, dimension: cfg.dimension });
    if (cfg.provider === 'auto') log(`OPENAI_API_KEY is set: embedding with ${e.model} (${e.dimension} dimensions) through ${cfg.baseUrl ?? 'https://api.openai.com/v1'}.`);
    return e;
  }
  if (cfg.provider === 'auto') log(lexicalNotice(cfg));
  return new LexicalEmbedder(cfg.dimension ?? 1536);
}

function lexicalNotice(cfg: EmbedderConfig, localWhy?: string): string {
  const keyless = cfg.baseUrl
    ? ` OPENAI_BASE_URL is set but is not used without a key: for a server that needs no key (Ollama, LM Studio), set DOCTOR_EMBEDDING_PROVIDER=openai.`
    : '';
  const local = localWhy
    ? ` The local model cannot be used: ${localWhy}`
    : ` Or run \`doctor models pull\` once to embed with a local model (${DEFAULT_LOCAL_MODEL}, no key, no network afterwards).`;
  return `No OPENAI_API_KEY set: using the offline lexical embedder (word and word-piece hashing; good for exact terms, weak on meaning). Set OPENAI_API_KEY for semantic embeddings.${local}${keyless}`;
}

/** Whether this configuration embeds with a local model when its files are there (`local`, or `auto` without a key). */
export function mayUseLocal(cfg: Pick<EmbedderConfig, 'provider' | 'apiKey'>): boolean {
  return cfg.provider === 'local' || (cfg.provider === 'auto' && !cfg.apiKey);
}

/**
 * The configured embedder, loading a local model when that is the choice:
 * - `local`: the model's files from DOCTOR_EMBEDDING_MODEL (a directory) or `<modelDir>/<id>/`; a missing hub
 *   model is downloaded first when downloads are allowed. Errors say which files are missing and where
 *   they go, or why ONNX Runtime cannot run.
 * - `auto`: OpenAI when a key is set, else `local` when the model's files are present (never downloading),
 *   else lexical. Says which once through `log` (and why a present local model could not be used). A present model
 *   that does not load within DOCTOR_MODEL_TIMEOUT_MS is an error, not a fallback (see ModelTimeoutError).
 */
export async function openEmbedder(cfg: EmbedderConfig, log: (msg: string) => void = () => {}): Promise<Embedder> {
  if (!mayUseLocal(cfg)) return createEmbedder(cfg, log);
  if (cfg.provider === 'local') {
    const e = await openLocal(cfg, cfg.modelDownload ?? true);
    log(`Embedding with ${describeLocal(e)}.`);
    return e;
  }
  // auto without a key
  let local: LocalModel | undefined;
  try {
    local = resolveLocalModel(cfg.model, cfg.modelDir ?? 'models');
  } catch {
    local = undefined; // DOCTOR_EMBEDDING_MODEL names something else (an OpenAI model): not a local model
  }
  if (local && modelPresent(local.dir)) {
    try {
      const e = await openLocal(cfg, false);
      log(`No OPENAI_API_KEY set and the local model's files are present: embedding with ${describeLocal(e)}.`);
      return e;
    } catch (err) {
      // A model that never finished loading is not fallen back from: its thread stays stuck in ONNX Runtime,
      // and the process could end only by SIGKILL after the command had done its work with another embedder.
      if (err instanceof ModelTimeoutError) throw err;
      log(lexicalNotice(cfg, (err as Error).message));
      return new LexicalEmbedder(cfg.dimension ?? 1536);
    }
  }
  log(lexicalNotice(cfg));
  return new LexicalEmbedder(cfg.dimension ?? 1536);
}

/**
 * Downloads the missing files of a hub model into `modelDir`. A failure is an EmbeddingError that names the
 * files still missing and the other ways to get them (another machine, by hand, a directory). With
 * `download` false (DOCTOR_MODEL_DOWNLOAD=false) the hub is never contacted, `doctor models pull` included.
 */
export async function pullLocalModel(
  settings: LocalModel,
  modelDir: string,
  host: string,
  onProgress?: (p: DownloadProgress) => void,
  download = true,
): Promise<void> {
  const missing = modelFiles(settings.dir).missing;
  if (!settings.hubId) throw new EmbeddingError('model', missingModelMessage(settings, missing, 'a directory given by path is never downloaded', host));
  if (!download) {
    throw new EmbeddingError(
      'model',
      missingModelMessage(settings, missing, 'downloads are off (DOCTOR_MODEL_DOWNLOAD=false: set it to true to let Doctor download the model)', host),
    );
  }
  try {
    await downloadModel({ hubId: settings.hubId, modelDir, host }, onProgress);
  } catch (e) {
    const still = modelFiles(settings.dir).missing;
    throw new EmbeddingError((e as EmbeddingError).code ?? 'model', missingModelMessage(settings, still.length ? still : missing, `could not be downloaded: ${(e as Error).message}`, host));
  }
}

/** One line on which local model embeds, how, and from where. */
export function describeLocal(e: Embedder): string {
  const s = (e as Partial<LocalEmbedder>).settings;
  if (!s) return `${e.provider}/${e.model}`;
  const prefixes = s.queryPrefix || s.documentPrefix ? `, query prefix ${JSON.stringify(s.queryPrefix)}, document prefix ${JSON.stringify(s.documentPrefix)}` : '';
  return `the local model ${e.model} (${e.dimension} dimensions, ${s.pooling} pooling${prefixes}; settings from ${s.recipeFrom}; files in ${s.dir})`;
}

async function openLocal(cfg: EmbedderConfig, download: boolean): Promise<Embedder> {
  const host = cfg.modelHost ?? DEFAULT_HOST;
  const modelDir = cfg.modelDir ?? 'models';
  let settings = resolveLocalModel(cfg.model, modelDir);
  const { missing } = modelFiles(settings.dir);
  if (missing.length) {
    if (!settings.hubId) throw new EmbeddingError('model', missingModelMessage(settings, missing, 'a directory given by path is never downloaded', host));
    await pullLocalModel(settings, modelDir, host, cfg.onDownloadProgress, download);
    settings = resolveLocalModel(cfg.model, modelDir); // an unknown hub model's settings come from its files
  }
  if (cfg.dimension !== undefined && settings.dimension !== undefined && cfg.dimension !== settings.dimension) {
    throw new EmbeddingError('model', `${settings.name} makes ${settings.dimension}-dimensional vectors, not ${cfg.dimension}: unset DOCTOR_EMBEDDING_DIM.`);
  }
  return LocalEmbedder.open(settings, { threads: cfg.threads, timeoutMs: cfg.timeoutMs, host, dimension: cfg.dimension });
}
