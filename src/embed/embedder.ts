/**
 * The embedding interface: texts in, one vector per text out, in input order, every vector exactly
 * `dimension` long with finite values. `provider` + `model` + `dimension` identify the vector space:
 * vectors from different models must never be mixed in one database.
 */
export interface Embedder {
  readonly provider: string;
  readonly model: string;
  readonly dimension: number;
  embed(texts: string[], opts?: EmbedOptions): Promise<Float32Array[]>;
  /** Releases what the embedder holds (a worker thread, a model); it cannot embed afterwards. */
  close?(): Promise<void>;
}

export interface EmbedOptions {
  signal?: AbortSignal;
  /**
   * What the texts are: stored documents (default) or search queries. Models trained with task prefixes
   * (bge's query instruction, nomic's `search_query:` / `search_document:`) embed the two differently.
   */
  input?: 'document' | 'query';
}

/**
 * What went wrong, for callers that react differently:
 * - `auth`: the key is missing or rejected (fix the configuration; retrying cannot help);
 * - `model`: unknown model or impossible dimension (fix the configuration);
 * - `rate_limit`: still rate limited after retries (try later);
 * - `server`: 5xx after retries, or a request the server refused;
 * - `network`: the server cannot be reached (or did not answer in time) after retries;
 * - `invalid_response`: the answer had the wrong count, wrong size or non-finite numbers (nothing stored);
 * - `invalid_input`: a text the embedder cannot take (not a string).
 */
export type EmbeddingErrorCode = 'auth' | 'model' | 'rate_limit' | 'server' | 'network' | 'invalid_response' | 'invalid_input';

export class EmbeddingError extends Error {
  override name = 'EmbeddingError';
  constructor(
    readonly code: EmbeddingErrorCode,
    message: string,
  ) {
    super(message);
  }
}
