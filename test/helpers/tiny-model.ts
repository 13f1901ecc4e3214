/**
 * A tiny BERT-style sentence-embedding model laid out like a model-hub repository, made on the spot:
 * the ONNX graphs by Debian's python3-onnx (test/helpers/tiny_bert.py), the tokenizer (WordPiece over a
 * small vocabulary), config.json and tokenizer_config.json here. Loads in transformers.js like a real
 * model (`Xenova/...`), with no network.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

export const TINY_HIDDEN = 32;
export const TINY_MAX_POSITIONS = 64;

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const WORDS = `the a an of to in and or is are be for with on by as at from it this that how what why when where which
read write file files line lines open close path directory folder create delete remove list search find query
retry retries backoff error errors exception timeout request requests response http server client api key token
database table index vector vectors embedding embeddings model models text chunk chunks page pages document
install configure config setting settings option options run start stop build test tests python node javascript
function method class object string number array map set value values return returns type types async await
stream buffer socket connection port host url network cache memory disk time date json yaml csv parse format
user users password auth login session cookie header headers body status code log logs debug warning info
crawl crawler site sites link links tag tags job jobs queue worker workers thread threads process processes`
  .split(/\s+/)
  .filter(Boolean);
const PIECES = ['##s', '##ed', '##ing', '##er', '##ly', '##es', '##ion', '##al', '##e', '##y'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');

export const TINY_VOCAB: string[] = [...new Set([...SPECIAL, ...WORDS, ...PIECES, ...LETTERS, ...LETTERS.map((l) => `##${l}`)])];

/** The Python that has Debian's python3-onnx (a pyenv shim on PATH may not). */
export function python(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

export interface TinyModelOptions {
  /** Pooling written to 1_Pooling/config.json (sentence-transformers layout); default mean. */
  pooling?: 'mean' | 'cls';
  /** Prompts written to config_sentence_transformers.json. */
  prompts?: { query?: string; document?: string };
  /** Leave out these files (to test the error naming missing files). */
  omit?: string[];
  /**
   * The network's shape (default: 1 layer of 32, 64 positions). The benchmark uses bge-small's
   * (12 layers of 384, feed-forward 1536, 512 positions; random weights) for its cost.
   */
  shape?: { hidden: number; layers: number; ffn: number; maxPositions: number };
  /**
   * How the quantised weights compute (tiny_bert.py): `weight` (default; batch-independent vectors) or
   * `dynamic` (as the model hub's q8 files: per-batch activation scales, the real arithmetic cost).
   */
  quantisation?: 'weight' | 'dynamic';
  /** Words added to the vocabulary (the benchmark adds a corpus's frequent words, for realistic token counts). */
  extraWords?: string[];
}

const onnxSources = new Map<string, string>();

/** Writes the tiny model into `dir` (created); returns `dir`. The ONNX graphs are generated once per process. */
export function makeTinyModel(dir: string, opts: TinyModelOptions = {}): string {
  mkdirSync(dir, { recursive: true });
  const shape = opts.shape ?? { hidden: TINY_HIDDEN, layers: 1, ffn: 2 * TINY_HIDDEN, maxPositions: TINY_MAX_POSITIONS };
  const quantisation = opts.quantisation ?? 'weight';
  const vocabList = opts.extraWords?.length ? [...new Set([...TINY_VOCAB, ...opts.extraWords])] : TINY_VOCAB;
  const key = JSON.stringify({ shape, quantisation, vocab: vocabList.length });
  let onnxSource = onnxSources.get(key);
  if (!onnxSource || !existsSync(join(onnxSource, 'onnx', 'model_quantized.onnx'))) {
    onnxSource = tempDir('doctor-tiny-onnx-');
    const script = fileURLToPath(new URL('./tiny_bert.py', import.meta.url));
    const args = [script, onnxSource, String(vocabList.length), String(shape.hidden), String(shape.maxPositions), String(shape.layers), String(shape.ffn)];
    // Large shapes: only the quantised file (the one loaded when present).
    args.push(opts.shape ? '1' : '0', quantisation);
    execFileSync(python(), args, { stdio: 'pipe' });
    onnxSources.set(key, onnxSource);
  }
  cpSync(join(onnxSource, 'onnx'), join(dir, 'onnx'), { recursive: true });

  const vocab = Object.fromEntries(vocabList.map((t, i) => [t, i]));
  const id = (t: string) => vocab[t]!;
  const special = (t: string) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  const files: Record<string, unknown> = {
    'tokenizer.json': tokenizer,
    'tokenizer_config.json': {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: shape.maxPositions,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
    },
    'config.json': {
      _name_or_path: 'doctor-tests/tiny-bert',
      model_type: 'bert',
      architectures: ['BertModel'],
      hidden_size: shape.hidden,
      num_attention_heads: 1,
      num_hidden_layers: shape.layers,
      intermediate_size: shape.ffn,
      vocab_size: vocabList.length,
      max_position_embeddings: shape.maxPositions,
      type_vocab_size: 2,
      pad_token_id: 0,
    },
    'special_tokens_map.json': { cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]' },
    '1_Pooling/config.json': {
      word_embedding_dimension: shape.hidden,
      pooling_mode_cls_token: opts.pooling === 'cls',
      pooling_mode_mean_tokens: opts.pooling !== 'cls',
    },
  };
  if (opts.prompts) files['config_sentence_transformers.json'] = { prompts: opts.prompts };
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), JSON.stringify(body, null, 2));
  }
  for (const f of opts.omit ?? []) rmSync(join(dir, f), { force: true });
  return dir;
}

/** How a hostile model misbehaves (test/helpers/hostile_model.py says what each does). */
export type HostileKind = 'rank2' | 'rank4' | 'wide' | 'fewer' | 'more' | 'slow';

/**
 * The tiny model in `dir`, its ONNX file rewritten to misbehave as `kind` says. `tokens` (slow): only batches
 * whose longest text has more tokens than this run for ever (default: all); `pooling`: as makeTinyModel's.
 */
export function makeHostileModel(dir: string, kind: HostileKind, opts: { tokens?: number; pooling?: 'mean' | 'cls' } = {}): string {
  makeTinyModel(dir, { pooling: opts.pooling });
  rmSync(join(dir, 'onnx', 'model.onnx'), { force: true }); // one weights file: the one rewritten
  const script = fileURLToPath(new URL('./hostile_model.py', import.meta.url));
  execFileSync(python(), [script, join(dir, 'onnx', 'model_quantized.onnx'), kind, String(opts.tokens ?? 0)], { stdio: 'pipe' });
  return dir;
}
