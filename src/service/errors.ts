/**
 * Errors the interfaces translate: NotFound -> 404, ValidationError -> 422, Conflict -> 409, Forbidden -> 403;
 * the embeddings API failed (EmbeddingError), or failed for too many pages or files in a row
 * (TooManyEmbedFailures) -> 502; the disk holding the database is full (DiskFullError) -> 507.
 */
export { ValidationError } from '../store/validation.js';
export { EmbeddingError } from '../embed/embedder.js';
export { TooManyEmbedFailures } from '../ingest/embed-failures.js';
export { DiskFullError } from '../db/database.js';

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** The caller may not do this here (a local path over REST or MCP outside --allow-local). */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
}
