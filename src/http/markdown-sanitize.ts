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

/** Safe HTML of rendered `html`; the href of every link as written goes to `seen` when given. */
export function sanitize(html: string, opts: RenderOptions, seen?: string[]): string {
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
        seen?.push(href);
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

