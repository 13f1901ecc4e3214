/** Which embedder made (or will make) the vectors of a database. */
export interface EmbeddingIdentity {
  provider: string;
  model: string;
  dimension: number;
}

/** Vectors of two identities can be compared (same model, same size). */
export const sameEmbedding = (a: EmbeddingIdentity, b: EmbeddingIdentity): boolean => a.dimension === b.dimension && a.model === b.model;
