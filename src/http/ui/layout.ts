/** The page around every screen: head (assets, no inline script or style), navigation, sign-in form. */
import { assetUrl } from './assets.js';
import { html, type Html } from './html.js';

export interface Screen {
  /** Which navigation entry is current. */
  nav: 'search' | 'sites' | 'add' | 'jobs' | 'status' | 'page';
  title: string;
  body: Html;
  /** HTTP status (404 for an unknown page or job). */
  status?: number;
}

export interface LayoutOptions {
  readOnly: boolean;
  /** DOCTOR_API_TOKEN is set: the page is a shell and the script loads the screen with the token. */
  tokenRequired: boolean;
}

/** Content-Security-Policy of every interface response: scripts and styles from this server only. */
export const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const NAV: { key: Screen['nav']; href: string; label: string; write?: boolean }[] = [
  { key: 'search', href: '/', label: 'Search' },
  { key: 'sites', href: '/ui/sites', label: 'Sites' },
  { key: 'add', href: '/ui/add', label: 'Add documentation', write: true },
  { key: 'jobs', href: '/ui/jobs', label: 'Jobs' },
  { key: 'status', href: '/ui/status', label: 'Status' },
];

export function navigation(current: Screen['nav'] | undefined, opts: LayoutOptions): Html {
  return html`<nav class="primary" aria-label="Main">${NAV.filter((n) => !(n.write && opts.readOnly)).map(
    (n) => html`<a href="${n.href}" data-nav="${n.key}"${n.key === current ? html` aria-current="page"` : ''}>${n.label}</a>`,
  )}</nav>`;
}

/**
 * A whole page. `screen` is undefined for the shell served when a token is required: the script signs
 * in and loads the screen itself, so no data is ever sent without the token.
 */
export function page(screen: Screen | undefined, opts: LayoutOptions): Html {
  const title = screen ? `${screen.title} · Doctor` : 'Doctor';
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="icon" type="image/svg+xml" href="${assetUrl('icon.svg')}">
<link rel="stylesheet" href="${assetUrl('app.css')}">
<script type="module" src="${assetUrl('app.js')}"></script>
</head>
<body data-read-only="${String(opts.readOnly)}" data-token="${String(opts.tokenRequired)}">
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/" data-nav="search"><img src="${assetUrl('icon.svg')}" alt="" width="22" height="22">Doctor</a>
${navigation(screen?.nav, opts)}
${opts.readOnly ? html`<span class="badge ro" title="This server refuses crawls and deletions">read-only</span>` : ''}
<button type="button" class="link signout" data-action="sign-out" hidden>Sign out</button></header>
<div id="flash" role="status" aria-live="polite"></div>
<main id="main" tabindex="-1"${screen ? '' : html` data-pending="true"`}>${screen ? screen.body : html`<p class="loading">Loading…</p>`}</main>
<template id="signin"><section class="signin narrow"><h1>Sign in</h1>
<p>This Doctor server needs its API token (<code>DOCTOR_API_TOKEN</code>). It is kept in this tab only and sent as a bearer header.</p>
<form data-form="sign-in"><label>API token <input name="token" type="password" autocomplete="current-password" required></label>
<p class="error" role="alert" hidden></p><button type="submit">Sign in</button></form></section></template>
<noscript><p class="narrow">${opts.tokenRequired ? 'This server needs a token: enable JavaScript to sign in.' : 'Searching and browsing work without JavaScript; crawls and deletions need it.'}</p></noscript>
</body></html>`;
}
