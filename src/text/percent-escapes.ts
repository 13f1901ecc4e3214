/**
 * Percent-escapes written one way (RFC 3986 6.2.2.1-2), so that one page has one URL: the crawler's URL
 * normalisation (ingest/fetch/url.ts) applies it to every link, and a one-time rewrite of databases written
 * before it did (store/url-forms.ts) to the URLs already stored.
 */

/** Percent-escapes of unreserved characters decoded (`%7E` -> `~`), the others' hex digits in upper case (`%2f` -> `%2F`). */
function samePercentEncoding(part: string): string {
  return part.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(c) ? c : `%${hex.toUpperCase()}`;
  });
}

/**
 * Writes the percent-escapes of a URL's path and query one way (samePercentEncoding), in place, through the URL's
 * setters (so dot segments a decoded `%2E` forms are resolved).
 */
export function writeEscapesOneWay(u: URL): void {
  if (u.pathname.includes('%')) u.pathname = samePercentEncoding(u.pathname);
  if (u.search.includes('%')) u.search = samePercentEncoding(u.search);
}

/** `url` with writeEscapesOneWay applied (the rest as the URL parser writes it), or null when it is not an absolute URL. */
export function withSamePercentEncoding(url: string): string | null {
  if (!URL.canParse(url)) return null;
  const u = new URL(url);
  writeEscapesOneWay(u);
  return u.href;
}
