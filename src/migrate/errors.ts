/** A migration problem the user can act on: the message says what happened and what to do. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}
