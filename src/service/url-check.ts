/** Early, readable refusal of start URLs that can never be crawled (the fetcher re-checks every connection). */
import { validateStartUrl } from '../ingest/fetch/url.js';
import { ValidationError } from './errors.js';

/** The start URL, normalised as the crawler normalises every link; a ValidationError (422) otherwise. */
export function checkStartUrl(raw: string): string {
  try {
    return validateStartUrl(raw);
  } catch (e) {
    throw new ValidationError((e as Error).message);
  }
}
