/**
 * The local embedding provider's models: the known ones with the settings their model cards ask for, where
 * a model's files live, and which files it needs.
 *
 * A model is named either by its model-hub id (`Xenova/bge-small-en-v1.5`, or its last part
 * `bge-small-en-v1.5`), whose files live in `<model dir>/<id>/` (DOCTOR_MODEL_DIR, default
 * `<data dir>/models`), or by a directory path holding the files (ONNX + tokenizer), used as is.
 * The settings of a directory come from the table when the directory is a known model (its name, or
 * `_name_or_path` in its config.json), else from the sentence-transformers files a model may carry
 * (`1_Pooling/config.json`, prompts in `config_sentence_transformers.json`), else mean pooling, no prefixes.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';

export type Pooling = 'mean' | 'cls';

/** How a model turns text into one vector, as its model card prescribes. */
export interface ModelRecipe {
  pooling: Pooling;
  /** Prepended to queries (search requests). */
  queryPrefix: string;
  /** Prepended to documents (stored chunks). */
  documentPrefix: string;
  /** Longest input in tokens (longer texts are cut). */
  maxTokens: number;
}

export interface KnownModel extends ModelRecipe {
  /** Id on the model hub (an ONNX export with quantised weights, `onnx/model_quantized.onnx`). */
  id: string;
  /** The original model, whose card defines the recipe. */
  source: string;
  dimension: number;
  /** Download size of the quantised weights plus tokenizer, in MB (approximate). */
  sizeMb: number;
  note: string;
}

export const KNOWN_LOCAL_MODELS: readonly KnownModel[] = [
  {
    id: 'Xenova/bge-small-en-v1.5',
    source: 'BAAI/bge-small-en-v1.5',
    dimension: 384,
    pooling: 'cls',
    queryPrefix: 'Represent this sentence for searching relevant passages: ',
    documentPrefix: '',
    maxTokens: 512,
    sizeMb: 35,
    note: 'default: English retrieval, CLS pooling, instruction prefix on queries',
  },
  {
    id: 'Xenova/all-MiniLM-L6-v2',
    source: 'sentence-transformers/all-MiniLM-L6-v2',
    dimension: 384,
    pooling: 'mean',
    queryPrefix: '',
    documentPrefix: '',
    maxTokens: 256,
    sizeMb: 24,
    note: 'smallest and fastest; trained on 256-token inputs',
  },
  {
    id: 'Xenova/gte-small',
    source: 'thenlper/gte-small',
    dimension: 384,
    pooling: 'mean',
    queryPrefix: '',
    documentPrefix: '',
    maxTokens: 512,
    sizeMb: 35,
    note: 'English retrieval, mean pooling, no prefixes',
  },
  {
    id: 'nomic-ai/nomic-embed-text-v1.5',
    source: 'nomic-ai/nomic-embed-text-v1.5',
    dimension: 768,
    pooling: 'mean',
    queryPrefix: 'search_query: ',
    documentPrefix: 'search_document: ',
    maxTokens: 512,
    sizeMb: 140,
    note: 'larger (768-d, ~3x slower); task prefixes on queries and documents',
  },
];

export const DEFAULT_LOCAL_MODEL = KNOWN_LOCAL_MODELS[0]!.id;

/** What the worker needs to load a model, and the name recorded in the database. */
export interface LocalModel extends ModelRecipe {
  /** The embedding identity's model name: the hub id, or the directory's name. */
  name: string;
  /** Where the files are (or will be, once downloaded). */
  dir: string;
  /** Set for a hub model (it can be downloaded); undefined for a directory given by path. */
  hubId?: string;
  /** Known vector size (from the table or config.json); checked against the model's output. */
  dimension?: number;
  known?: KnownModel;
  /** Where the settings came from, for the start-up message. */
  recipeFrom: 'table' | 'sentence-transformers files' | 'defaults';
}

/** The ONNX weights a directory may hold, preferred first: quantised (q8), then full precision. */
const WEIGHT_FILES = [
  { file: 'onnx/model_quantized.onnx', dtype: 'q8', subfolder: 'onnx' },
  { file: 'onnx/model.onnx', dtype: 'fp32', subfolder: 'onnx' },
  { file: 'model_quantized.onnx', dtype: 'q8', subfolder: '' },
  { file: 'model.onnx', dtype: 'fp32', subfolder: '' },
] as const;

export type WeightFile = (typeof WEIGHT_FILES)[number];

/** The files every model needs besides its weights. */
export const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

export function isModelPath(model: string): boolean {
  return isAbsolute(model) || model.startsWith('./') || model.startsWith('../') || model === '.' || model.startsWith('~');
}

/** The known model named by its id or the last part of its id (case-insensitive). */
export function knownModel(name: string): KnownModel | undefined {
  const n = name.toLowerCase();
  return KNOWN_LOCAL_MODELS.find(
    (m) => m.id.toLowerCase() === n || m.id.split('/')[1]!.toLowerCase() === n || m.source.toLowerCase() === n,
  );
}

const HUB_ID = /^[A-Za-z0-9][\w.-]{0,95}\/[A-Za-z0-9][\w.-]{0,95}$/;

/**
 * Resolves DOCTOR_EMBEDDING_MODEL (undefined: the default model) for the local provider.
 * Throws an Error with what to do when the name is neither a known model, a hub id nor a path.
 */
export function resolveLocalModel(model: string | undefined, modelDir: string): LocalModel {
  const name = model?.trim() || DEFAULT_LOCAL_MODEL;
  if (isModelPath(name)) return fromDirectory(resolve(name.startsWith('~') ? join(process.env.HOME ?? '', name.slice(1)) : name));
  const known = knownModel(name);
  const id = known?.id ?? name;
  if (!HUB_ID.test(id) || id.includes('..')) {
    throw new Error(
      `DOCTOR_EMBEDDING_MODEL=${JSON.stringify(name)} is not a model the local provider knows (${KNOWN_LOCAL_MODELS.map((m) => m.id).join(', ')}), ` +
        'nor a model-hub id like "org/name", nor a directory path (absolute, or starting with ./).',
    );
  }
  const dir = join(modelDir, ...id.split('/'));
  if (known) return { ...recipeOf(known), name: known.id, dir, hubId: known.id, dimension: known.dimension, known, recipeFrom: 'table' };
  // Another hub model: its recipe comes from its files once they are here.
  return { ...fromFiles(dir), name: id, dir, hubId: id };
}

function recipeOf(m: ModelRecipe): ModelRecipe {
  return { pooling: m.pooling, queryPrefix: m.queryPrefix, documentPrefix: m.documentPrefix, maxTokens: m.maxTokens };
}

function fromDirectory(dir: string): LocalModel {
  const config = readJson(join(dir, 'config.json')) as { _name_or_path?: unknown } | undefined;
  const known = knownModel(basename(dir)) ?? (typeof config?._name_or_path === 'string' ? knownModel(config._name_or_path) : undefined);
  if (known) return { ...recipeOf(known), name: known.id, dir, dimension: known.dimension, known, recipeFrom: 'table' };
  return { ...fromFiles(dir), name: basename(dir), dir };
}

/** The recipe a model's own files describe (sentence-transformers layout), or defaults. */
function fromFiles(dir: string): Omit<LocalModel, 'name' | 'dir' | 'hubId'> {
  const pooling = readJson(join(dir, '1_Pooling', 'config.json')) as Record<string, unknown> | undefined;
  const st = readJson(join(dir, 'config_sentence_transformers.json')) as { prompts?: Record<string, unknown> } | undefined;
  const tok = readJson(join(dir, 'tokenizer_config.json')) as { model_max_length?: unknown } | undefined;
  const config = readJson(join(dir, 'config.json')) as Record<string, unknown> | undefined;
  const prompt = (...keys: string[]) => {
    for (const k of keys) if (typeof st?.prompts?.[k] === 'string') return st.prompts[k] as string;
    return '';
  };
  const maxLen = typeof tok?.model_max_length === 'number' && tok.model_max_length > 0 ? tok.model_max_length : 512;
  const dim = [config?.hidden_size, config?.n_embd, config?.d_model].find((d): d is number => typeof d === 'number' && Number.isInteger(d) && d > 0);
  return {
    pooling: pooling?.pooling_mode_cls_token === true ? 'cls' : 'mean',
    queryPrefix: prompt('query', 'search_query'),
    documentPrefix: prompt('document', 'passage', 'search_document'),
    maxTokens: Math.min(512, maxLen),
    dimension: dim,
    recipeFrom: pooling || st ? 'sentence-transformers files' : 'defaults',
  };
}

/** The settings files read here are small; a bigger one is not a model's settings file. */
const MAX_SETTINGS_BYTES = 16 * 2 ** 20;

/**
 * A settings file's JSON, or undefined when it is absent, unreadable, not JSON, too big, or not a regular
 * file. Opened without blocking and checked before reading: a named pipe put in a model directory would
 * otherwise block this thread for ever (readFileSync waits for a writer), hanging every start.
 */
function readJson(path: string): unknown {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_SETTINGS_BYTES) return undefined;
    return JSON.parse(readFileSync(fd, 'utf8'));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const isFile = (p: string) => {
  try {
    return statSync(p).isFile() && statSync(p).size > 0;
  } catch {
    return false;
  }
};

/** Which of a model's files are present: the weights found (if any) and the required files missing. */
export function modelFiles(dir: string): { weights?: WeightFile; missing: string[] } {
  const weights = WEIGHT_FILES.find((w) => isFile(join(dir, w.file)));
  const missing: string[] = REQUIRED_FILES.filter((f) => !isFile(join(dir, f)));
  if (!weights) missing.push(WEIGHT_FILES[0].file);
  return { weights, missing };
}

export function modelPresent(dir: string): boolean {
  return existsSync(dir) && modelFiles(dir).missing.length === 0;
}

/** The message for a model whose files are missing and cannot be downloaded (`why`: the reason). */
export function missingModelMessage(m: LocalModel, missing: readonly string[], why: string, host: string): string {
  const all = [...REQUIRED_FILES, WEIGHT_FILES[0].file];
  const where = m.hubId ? `${host.replace(/\/+$/, '')}/${m.hubId}/tree/main` : undefined;
  return (
    `the local embedding model ${m.name} is not complete in ${m.dir} (missing: ${missing.join(', ')}) and ${why}. ` +
    (m.hubId
      ? `Either run \`doctor models pull ${m.hubId}\` where ${host} is reachable and copy ${m.dir} to this machine, ` +
        `set DOCTOR_MODEL_HOST to a reachable mirror of ${host}, ` +
        `or download ${all.join(', ')} from ${where} into ${m.dir} (keeping the onnx/ folder), `
      : `Put ${all.join(', ')} into ${m.dir} (onnx/model.onnx, full precision, works too), `) +
    'or point DOCTOR_EMBEDDING_MODEL at a directory that holds them.'
  );
}
