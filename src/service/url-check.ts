/** Early, readable refusal of start URLs that can never be crawled (the fetcher re-checks every connection). */
import { ValidationError } from './errors.js';

export function checkStartUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new ValidationError(`"${raw}" is not a valid URL: give an absolute http(s) URL such as https://docs.example.com/`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ValidationError(`only http and https URLs can be crawled (got ${u.protocol.replace(':', '')}).`);
  }
  if (u.username || u.password) {
    throw new ValidationError('URLs with credentials (user:password@) are refused: Doctor would store and send them.');
  }
  u.hash = '';
  return u.href;
}
