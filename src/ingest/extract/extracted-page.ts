/** What extraction makes of one fetched document (HTML, Markdown or text). */
export interface ExtractedPage {
  title: string;
  markdown: string;
  /** Every http(s) link of the document (navigation included), absolute, without fragment, de-duplicated. */
  links: string[];
  /** Length of the visible text of the whole document (decides whether a page needs JS rendering). */
  textLength: number;
}
