/**
 * HTML built with a tagged template that escapes every interpolated value unless it is already Html.
 * Page titles, URLs, tags and text are untrusted: they can only enter the markup escaped.
 */
import { escapeHtml } from '../markdown.js';

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Markup that is already safe (sanitised page HTML, or built with `html`). */
export const trusted = (s: string): Html => new Html(s);

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

function render(v: Value): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(v);
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** An external link's href: only http(s) URLs, anything else becomes "#". */
export function externalHref(url: string | null | undefined): string {
  return url && /^https?:\/\//i.test(url) ? url : '#';
}
