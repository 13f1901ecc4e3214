/** The embedding interface: texts in, one vector per text out, in order. */
export interface Embedder {
  readonly provider: string;
  readonly model: string;
  readonly dimension: number;
  embed(texts: string[], opts?: { signal?: AbortSignal }): Promise<Float32Array[]>;
}

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
