/** Small formatting helpers shared by the screens. */
import { html, type Html } from './html.js';

export const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

/** "2025-01-31 14:05 UTC" */
export const dateTime = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

export const time = (iso: string): Html => html`<time datetime="${iso}">${dateTime(iso)}</time>`;

export const tagList = (tags: readonly string[]): Html => html`${tags.map((t) => html`<span class="tag">${t}</span>`)}`;

/** Where the interface shows a stored page: this path + its id. */
export const PAGE_PATH = '/ui/page/';
export const pageHref = (id: string) => `${PAGE_PATH}${encodeURIComponent(id)}`;
export const jobHref = (id: string) => `/ui/jobs/${encodeURIComponent(id)}`;

/** Bytes as KiB/MiB. */
export const bytes = (n: number | undefined) =>
  n === undefined ? '–' : n < 2 ** 20 ? `${(n / 1024).toFixed(0)} KiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
