/** Chooses the embedder from configuration. */
import type { Embedder } from './embedder.js';
import { LexicalEmbedder } from './lexical.js';
import { OpenAIEmbedder } from './openai.js';

export type { Embedder } from './embedder.js';

export interface EmbedderConfig {
  provider: 'auto' | 'openai' | 'lexical';
  apiKey?: string;
  baseUrl?: string;
  model?: string;
  dimension?: number;
}

/**
 * `auto` uses OpenAI-compatible embeddings when an API key is configured, the offline lexical embedder
 * otherwise (and says so once through `log`). `openai` without a key is allowed for local servers
 * (Ollama, LM Studio) that need none.
 */
export function createEmbedder(cfg: EmbedderConfig, log: (msg: string) => void = () => {}): Embedder {
  const provider = cfg.provider === 'auto' ? (cfg.apiKey ? 'openai' : 'lexical') : cfg.provider;
  if (provider === 'openai') {
    return new OpenAIEmbedder({ apiKey: cfg.apiKey, baseUrl: cfg.baseUrl, model: cfg.model, dimension: cfg.dimension });
  }
  if (cfg.provider === 'auto') {
    log('No OPENAI_API_KEY set: using the offline lexical embedder (word hashing). Set OPENAI_API_KEY (and OPENAI_BASE_URL for other OpenAI-compatible servers) for semantic embeddings.');
  }
  return new LexicalEmbedder(cfg.dimension ?? 1536);
}
