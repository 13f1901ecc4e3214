/** Chooses the embedder from configuration. */
import type { Embedder } from './embedder.js';
import { LexicalEmbedder } from './lexical.js';
import { OpenAIEmbedder } from './openai.js';

export { EmbeddingError, type Embedder, type EmbeddingErrorCode } from './embedder.js';
export { LexicalEmbedder, LEXICAL_MODEL } from './lexical.js';
export { OpenAIEmbedder, probeDimension, KNOWN_DIMENSIONS, type OpenAIEmbedderOptions } from './openai.js';

export interface EmbedderConfig {
  provider: 'auto' | 'openai' | 'lexical';
  apiKey?: string;
  baseUrl?: string;
  model?: string;
  dimension?: number;
}

/**
 * `auto` uses OpenAI-compatible embeddings when an API key is configured, the offline lexical embedder
 * otherwise (and says so once through `log`). `openai` without a key is allowed: local servers
 * (Ollama, LM Studio, vLLM at a custom baseUrl) usually need none. The lexical embedder ignores `model`
 * and `baseUrl` and uses `dimension` when given (default 1536).
 * Throws an EmbeddingError when the configuration cannot work (e.g. an unknown model without a dimension).
 */
export function createEmbedder(cfg: EmbedderConfig, log: (msg: string) => void = () => {}): Embedder {
  const provider = cfg.provider === 'auto' ? (cfg.apiKey ? 'openai' : 'lexical') : cfg.provider;
  if (provider === 'openai') {
    return new OpenAIEmbedder({ apiKey: cfg.apiKey, baseUrl: cfg.baseUrl, model: cfg.model, dimension: cfg.dimension });
  }
  if (cfg.provider === 'auto') {
    const local = cfg.baseUrl
      ? ` OPENAI_BASE_URL is set but is not used without a key: for a server that needs no key (Ollama, LM Studio), set DOCTOR_EMBEDDING_PROVIDER=openai.`
      : '';
    log(
      `No OPENAI_API_KEY set: using the offline lexical embedder (word and word-piece hashing; good for exact terms, weak on meaning). Set OPENAI_API_KEY for semantic embeddings.${local}`,
    );
  }
  return new LexicalEmbedder(cfg.dimension ?? 1536);
}
