/** Errors the interfaces translate: NotFound -> 404, ValidationError -> 422, Conflict -> 409. */
export { ValidationError } from '../store/validation.js';

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}
