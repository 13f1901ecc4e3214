/**
 * The embedding interface: texts in, one vector per text out, in input order, every vector exactly
 * `dimension` long with finite values. `provider` + `model` + `dimension` identify the vector space:
 * vectors from different models must never be mixed in one database.
 */
export interface Embedder {
  readonly provider: string;
  readonly model: string;
  readonly dimension: number;
  embed(texts: string[], opts?: { signal?: AbortSignal }): Promise<Float32Array[]>;
}

/**
 * What went wrong, for callers that react differently:
 * - `auth`: the key is missing or rejected (fix the configuration; retrying cannot help);
 * - `model`: unknown model or impossible dimension (fix the configuration);
 * - `rate_limit`: still rate limited after retries (try later);
 * - `server`: 5xx after retries, or a request the server refused;
 * - `network`: the server cannot be reached (or did not answer in time) after retries;
 * - `invalid_response`: the answer had the wrong count, wrong size or non-finite numbers (nothing stored).
 */
export type EmbeddingErrorCode = 'auth' | 'model' | 'rate_limit' | 'server' | 'network' | 'invalid_response';

export class EmbeddingError extends Error {
  override name = 'EmbeddingError';
  constructor(
    readonly code: EmbeddingErrorCode,
    message: string,
  ) {
    super(message);
  }
}
