/** What extraction makes of one fetched document (HTML, Markdown or text). */
export interface ExtractedPage {
  title: string;
  markdown: string;
  /** Every http(s) link of the document (navigation included), absolute, without fragment, de-duplicated. */
  links: string[];
  /** Length of the visible text of the whole document (decides whether a page needs JS rendering). */
  textLength: number;
  /**
   * What the page's `<meta name="robots">` asks of crawlers, when it asks: not to store it (`noindex`: mdBook's
   * print.html, the whole book again; Sphinx's search page), not to follow its links (`nofollow`).
   */
  robots?: PageRobots;
}

export interface PageRobots {
  noindex: boolean;
  nofollow: boolean;
}

/** The directives of a `<meta name="robots">` content (`noindex, follow`; `none` is both), or undefined when neither is asked. */
export function robotsDirectives(content: string): PageRobots | undefined {
  const words = content.toLowerCase().split(/[\s,]+/);
  const none = words.includes('none');
  const noindex = none || words.includes('noindex');
  const nofollow = none || words.includes('nofollow');
  return noindex || nofollow ? { noindex, nofollow } : undefined;
}
