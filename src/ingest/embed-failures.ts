/**
 * When to give up on an embeddings API that keeps failing. A crawl (./crawler.ts, its pages embedded here or
 * by remote workers) and the indexing of local files (./local/index-local.ts) count the pages or files in a
 * row whose embedding failed, and stop with a message naming the cause and the settings to check: the API is
 * down or misconfigured, and every further page would be read only to fail the same way. One odd page the API
 * refuses is skipped, and the run goes on.
 */
import { EmbeddingError, type Embedder } from '../embed/embedder.js';

/**
 * Pages in a row (in the order they finish, a page embedded meanwhile breaks the row) that failed to embed
 * after which the run stops.
 */
export const EMBED_FAILURES_TO_STOP = 5;
/**
 * Fewer when the API could not be reached at all, or kept rate limiting, after the embedder's own retries
 * (each such page has already waited through them): that is no page's doing.
 */
export const UNREACHABLE_EMBED_FAILURES_TO_STOP = 3;

/** How the message names the run and what it embeds. */
export interface EmbedRunWording {
  /** What stopped: 'the crawl'. */
  run: string;
  /** What failed, plural: 'pages'. */
  items: string;
  /** What to do once the API works: 'crawl the site again: the pages stored so far are kept and not embedded again'. */
  again: string;
}

/** A run stopped because too many pages or files in a row could not be embedded. */
export class TooManyEmbedFailures extends Error {
  override name = 'TooManyEmbedFailures';
}

/** Pages (or files) in a row whose embedding failed, and whether the run must stop. */
export class EmbedFailureStreak {
  private count = 0;

  constructor(
    private readonly embedder: Pick<Embedder, 'provider' | 'model'>,
    private readonly wording: EmbedRunWording,
  ) {}

  /** One was embedded: the row is broken. */
  succeeded(): void {
    this.count = 0;
  }

  /**
   * One failed to embed with `error`. Returns the error to stop the run with, or undefined to skip that one
   * and go on: a refused key or an unknown model stops at once (every page would fail the same way, and the
   * embedder's message says what to set); any other error once too many failed in a row.
   */
  failed(error: unknown): Error | undefined {
    this.count++;
    const code = error instanceof EmbeddingError ? error.code : undefined;
    if (code === 'auth' || code === 'model') return error as EmbeddingError;
    const limit = code === 'network' || code === 'rate_limit' ? UNREACHABLE_EMBED_FAILURES_TO_STOP : EMBED_FAILURES_TO_STOP;
    if (this.count < limit) return undefined;
    const { provider, model } = this.embedder;
    const cause = (error instanceof Error ? error.message : String(error)).trim();
    const settings = provider === 'openai' ? 'OPENAI_BASE_URL, OPENAI_API_KEY, DOCTOR_EMBEDDING_MODEL' : 'DOCTOR_EMBEDDING_PROVIDER, DOCTOR_EMBEDDING_MODEL';
    const { run, items, again } = this.wording;
    return new TooManyEmbedFailures(
      `${run} stopped: ${this.count} ${items} in a row could not be embedded (${provider} model "${model}"): ${cause}${/[.!?]$/.test(cause) ? '' : '.'} ` +
        `Fix the embeddings API or the settings (${settings}), then ${again}.`,
    );
  }
}
