/**
 * Sanitising rendered page HTML (untrusted): no scripts, event handlers, javascript: URLs, styles or embeds;
 * links to pages of the same site lead to their stored copies, headings may get ids, query terms marked.
 * Pure: it runs in the Markdown worker thread (./markdown-worker.ts) for stored pages, and inline for short texts.
 */
import sanitizeHtml from 'sanitize-html';
import { markTerms } from '../text/highlight.js';
import { headingAnchor } from './markdown-html.js';

export interface RenderOptions {
  /** The page's own URL: relative links and images resolve against it (to the original site). */
  baseUrl?: string;
  /** Links (href as written) that lead to crawled pages: they open in Doctor instead. */
  internal?: ReadonlyMap<string, string>;
  /** Where a crawled page opens: this path + its id (default: its site-map page, `/map/page/`). */
  pagePath?: string;
  /** Give headings ids (`h-` + a slug of their text) and point in-page links at them. */
  headingIds?: boolean;
  /** Wrap words matching these query tokens in <mark>. */
  highlight?: ReadonlySet<string>;
}

const ALLOWED_TAGS = [
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'a', 'ul', 'ol', 'li', 'blockquote', 'code', 'pre', 'em', 'strong',
  'del', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'hr', 'br', 'img', 'span', 'input',
];
const HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];

/** An absolute URL for a relative link of the page (the original site); fragments and bad URLs stay as written. */
function absolute(href: string, base: string | undefined): string {
  if (!base || href.startsWith('#')) return href;
  try {
    return new URL(href, base).href;
  } catch {
    return href;
  }
}

function hashOf(href: string): string {
  const i = href.indexOf('#');
  return i >= 0 ? href.slice(i) : '';
}

const unescapeText = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
export const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The start of an `a` tag (raw HTML in Markdown may write it in capitals). */
const A_TAG_RE = /<a[\s/>]/gi;
/** The href attribute in one tag's text, quoted or not. */
const HREF_RE = /\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/i;
const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** An attribute value with the entities renderers write decoded (others stay as written). */
function decodeEntities(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));/g, (all, dec?: string, hex?: string, name?: string) => {
    if (name) return NAMED_ENTITIES[name] ?? all;
    const code = dec ? parseInt(dec, 10) : parseInt(hex!, 16);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
  });
}

/**
 * The hrefs of the links in rendered HTML, as the sanitiser will see them (entities decoded), found with a scan
 * instead of a second parse (which cost as long as sanitising: ~0.6 s for a 20 MB page). Only for looking up
 * which links lead to stored pages, never written out: a tag this scan misreads (a quoted `>` before its href)
 * only keeps that link pointing at the original site. Linear in the HTML, whatever it holds: a tag's text ends at
 * the next `>`, and the next tag is looked for after it.
 */
export function linkHrefs(html: string): string[] {
  const out: string[] = [];
  A_TAG_RE.lastIndex = 0;
  for (;;) {
    const open = A_TAG_RE.exec(html);
    if (!open) break;
    const end = html.indexOf('>', open.index);
    if (end < 0) break;
    const m = HREF_RE.exec(html.slice(open.index + 2, end));
    if (m) out.push(decodeEntities(m[1] ?? m[2] ?? m[3]!));
    A_TAG_RE.lastIndex = end + 1;
  }
  return out;
}

/** Safe HTML of rendered `html`. */
export function sanitize(html: string, opts: RenderOptions): string {
  const pageHref = (id: string) => `${opts.pagePath ?? '/map/page/'}${encodeURIComponent(id)}`;
  // Heading ids come from headingAnchor; an id a page wrote itself survives only in that form.
  const headingAttrs = opts.headingIds ? Object.fromEntries(HEADINGS.map((h) => [h, ['id']])) : {};
  const anchorHash = (hash: string) => (opts.headingIds && hash.length > 1 ? `#${headingAnchor(decodeURIComponent(hash.slice(1)))}` : hash);
  const terms = opts.highlight;
  return sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: {
      a: ['href', 'title', 'rel'],
      img: ['src', 'alt', 'title'],
      code: ['class'],
      th: ['align'],
      td: ['align'],
      input: ['type', 'checked', 'disabled'],
      ...headingAttrs,
    },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: { img: ['data'] },
    allowedSchemesAppliedToAttributes: ['href', 'src'],
    allowProtocolRelative: false,
    // Only task-list checkboxes (GFM "- [x]") survive as inputs, and never as live controls.
    exclusiveFilter: (frame) => frame.tag === 'input' && frame.attribs.type !== 'checkbox',
    transformTags: {
      a: (tag, attribs) => {
        const href = attribs.href ?? '';
        const id = opts.internal?.get(href);
        const hash = id ? hashOf(href) : '';
        return {
          tagName: tag,
          attribs: {
            ...attribs,
            href: id ? pageHref(id) + anchorHash(hash) : href.startsWith('#') ? anchorHash(href) : absolute(href, opts.baseUrl),
            rel: 'nofollow noopener noreferrer',
          },
        };
      },
      // Images stay on the original site: viewing a crawled page must not make the browser fetch from a third
      // party (the CSP img-src 'self' data: would block it anyway). A link to the image replaces it.
      img: (_tag, attribs): sanitizeHtml.Tag => {
        const src = attribs.src ?? '';
        const label = `[image${attribs.alt ? `: ${attribs.alt}` : ''}]`;
        if (/^data:image\/(png|gif|jpe?g|webp)[;,]/i.test(src)) return { tagName: 'img', attribs: { src, alt: attribs.alt ?? '' } };
        if (/^data:/i.test(src)) return { tagName: 'span', attribs: {}, text: label };
        return { tagName: 'a', attribs: { href: absolute(src, opts.baseUrl), rel: 'nofollow noopener noreferrer', title: attribs.title ?? '' }, text: label };
      },
      input: (tag, attribs) => ({ tagName: tag, attribs: { ...attribs, disabled: '' } }),
      ...Object.fromEntries(
        HEADINGS.map((h) => [h, (tag: string, attribs: Record<string, string>) => {
          const id = attribs.id && /^h-[\p{L}\p{N}-]{1,90}$/u.test(attribs.id) ? { id: attribs.id } : {};
          return { tagName: tag, attribs: id as Record<string, string> };
        }]),
      ),
    },
    ...(terms && terms.size
      ? {
          textFilter: (escaped: string) =>
            markTerms(unescapeText(escaped), terms)
              .map((s) => (s.hit ? `<mark>${escapeText(s.text)}</mark>` : escapeText(s.text)))
              .join(''),
        }
      : {}),
  });
}

