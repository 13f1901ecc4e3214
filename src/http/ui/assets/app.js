// @ts-check
/**
 * Doctor's web interface, the part that runs in the browser. Screens are rendered by the server
 * (src/http/ui); this script only adds what a page cannot do alone:
 * - in-place navigation (fetching a screen's content with the X-Doctor-Fragment header),
 * - signing in when DOCTOR_API_TOKEN is set (the token is kept in sessionStorage, for this tab only, and
 *   sent as a bearer header; never in a URL),
 * - the keyboard: `/` focuses the search box, Enter searches, arrow keys move through results,
 * - write actions through the REST routes (fetch_url, recrawl_site, delete_docs, cancel_job),
 * - live job progress read from GET /job_events (Server-Sent Events, read with fetch() because
 *   EventSource cannot send headers): the server pushes, the page never polls,
 * - copying a page's Markdown.
 * It holds no logic of Doctor's own: every decision is the server's.
 */

const TOKEN_KEY = 'doctor.token';
const FRAGMENT = 'X-Doctor-Fragment';
const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const tokenRequired = document.body.dataset.token === 'true';

class AuthError extends Error {}

const token = () => sessionStorage.getItem(TOKEN_KEY);

/**
 * @param {string} url
 * @param {{ method?: string, json?: unknown, fragment?: string, signal?: AbortSignal, accept?: string }} [opts]
 */
async function request(url, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: opts.accept ?? (opts.fragment ? 'text/html' : 'application/json') };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (opts.fragment) headers[FRAGMENT] = opts.fragment;
  let body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const res = await fetch(url, { method: opts.method ?? 'GET', headers, body, signal: opts.signal, cache: 'no-store', credentials: 'same-origin' });
  if (res.status === 401) throw new AuthError('401');
  return res;
}

/** A REST call: its JSON, or an Error carrying the server's `detail`. */
async function api(/** @type {string} */ url, /** @type {Parameters<typeof request>[1]} */ opts = {}) {
  const res = await request(url, opts);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.detail || `${res.status} ${res.statusText}`);
  return data;
}

// ---------------------------------------------------------------- messages

let flashTimer = 0;
function flash(/** @type {string} */ text, kind = 'info') {
  const el = /** @type {HTMLElement} */ (document.getElementById('flash'));
  el.textContent = text;
  el.className = text ? `flash ${kind}` : '';
  clearTimeout(flashTimer);
  if (text) flashTimer = window.setTimeout(() => flash(''), 8000);
}

function failed(/** @type {unknown} */ e) {
  if (e instanceof AuthError) return signIn();
  if (e instanceof DOMException && e.name === 'AbortError') return;
  flash(e instanceof Error ? e.message : String(e), 'error');
}

// ---------------------------------------------------------------- navigation

/** @type {AbortController | undefined} */
let loading;
/** Path and query of the screen on show (a change of the hash alone needs no fetch). */
let shown = location.pathname + location.search;

/** Marks the time the response arrived; measures until the next frame is drawn (bench/ui.ts reads it). */
function timeRender(/** @type {number} */ start) {
  requestAnimationFrame(() => setTimeout(() => performance.measure('doctor:render', { start, end: performance.now() })));
}

function applyHeaders(/** @type {Response} */ res) {
  const title = res.headers.get('x-doctor-title');
  if (title) document.title = decodeURIComponent(title);
  const nav = res.headers.get('x-doctor-nav');
  for (const a of document.querySelectorAll('nav.primary a')) {
    if (a instanceof HTMLElement && a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/**
 * Shows the screen at `url` without leaving the page.
 * @param {string} url
 * @param {{ history?: 'push' | 'replace' | 'none', focus?: boolean }} [opts]
 */
async function load(url, opts = {}) {
  const u = new URL(url, location.href);
  loading?.abort();
  const ctrl = (loading = new AbortController());
  stopLive();
  try {
    const res = await request(u.pathname + u.search, { fragment: 'main', signal: ctrl.signal });
    const html = await res.text();
    const start = performance.now();
    if (opts.history === 'push') history.pushState(null, '', u.href);
    else if (opts.history === 'replace') history.replaceState(null, '', u.href);
    main.innerHTML = html;
    shown = u.pathname + u.search;
    applyHeaders(res);
    enhance();
    timeRender(start);
    const target = u.hash && document.getElementById(decodeURIComponent(u.hash.slice(1)));
    if (target) target.scrollIntoView();
    else if (opts.history !== 'none') window.scrollTo(0, 0);
    if (opts.focus !== false && !target) {
      const q = /** @type {HTMLInputElement | null} */ (main.querySelector('#q'));
      if (q && !q.value) q.focus();
      else main.focus({ preventScroll: true });
    }
  } catch (e) {
    failed(e);
  } finally {
    if (loading === ctrl) loading = undefined;
  }
}

const reload = () => load(location.href, { history: 'none', focus: false });

/** Links to interface screens open in place. */
function isScreenLink(/** @type {HTMLAnchorElement} */ a) {
  if (a.origin !== location.origin || a.target || a.hasAttribute('download')) return false;
  return a.pathname === '/' || (a.pathname.startsWith('/ui/') && !a.pathname.startsWith('/ui/assets/'));
}

// ---------------------------------------------------------------- search

async function search(/** @type {HTMLFormElement} */ form) {
  const params = new URLSearchParams();
  const data = new FormData(form);
  const query = String(data.get('query') ?? '').trim();
  if (query) params.set('query', query);
  if (data.get('tags')) params.set('tags', String(data.get('tags')));
  if (data.get('mode') && data.get('mode') !== 'hybrid') params.set('mode', String(data.get('mode')));
  const url = `/${params.toString() ? `?${params}` : ''}`;
  const results = /** @type {HTMLElement} */ (main.querySelector('#results'));
  loading?.abort();
  const ctrl = (loading = new AbortController());
  try {
    const res = await request(url, { fragment: 'results', signal: ctrl.signal });
    const html = await res.text();
    const start = performance.now();
    results.innerHTML = html;
    applyHeaders(res);
    timeRender(start);
    if (location.pathname + location.search !== url) history.pushState(null, '', url);
    shown = url;
  } catch (e) {
    failed(e);
  }
}

/** Moves focus through the results with the arrow keys (the search box sits above the first). */
function moveInResults(/** @type {KeyboardEvent} */ e) {
  const links = /** @type {HTMLElement[]} */ ([...main.querySelectorAll('.results a.title')]);
  const box = /** @type {HTMLInputElement | null} */ (main.querySelector('#q'));
  if (!links.length) return;
  const active = document.activeElement;
  const i = links.indexOf(/** @type {HTMLElement} */ (active));
  if (i < 0 && active !== box) return;
  e.preventDefault();
  const next = e.key === 'ArrowDown' ? Math.min(i + 1, links.length - 1) : i - 1;
  const el = next < 0 ? box : links[next];
  el?.focus();
  el?.closest('li')?.scrollIntoView({ block: 'nearest' });
}

// ---------------------------------------------------------------- sign-in

function signIn(message = '') {
  stopLive();
  const stale = token();
  sessionStorage.removeItem(TOKEN_KEY);
  const tpl = /** @type {HTMLTemplateElement} */ (document.getElementById('signin'));
  main.replaceChildren(tpl.content.cloneNode(true));
  document.title = 'Sign in · Doctor';
  updateSignOut();
  const form = /** @type {HTMLFormElement} */ (main.querySelector('form'));
  const error = /** @type {HTMLElement} */ (form.querySelector('.error'));
  const text = message || (stale ? 'The server refused that token: check DOCTOR_API_TOKEN.' : '');
  error.textContent = text;
  error.hidden = !text;
  /** @type {HTMLInputElement} */ (form.elements.namedItem('token')).focus();
}

function updateSignOut() {
  const b = /** @type {HTMLElement | null} */ (document.querySelector('[data-action="sign-out"]'));
  if (b) b.hidden = !(tokenRequired && token());
}

// ---------------------------------------------------------------- actions

async function copyText(/** @type {string} */ text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain http on another host has no Clipboard API: select a hidden text area and copy that.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copying was refused by the browser');
}

const plural = (/** @type {number} */ n, /** @type {string} */ word) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;

/** @type {Record<string, (b: HTMLElement) => Promise<unknown>>} */
const ACTIONS = {
  async delete(b) {
    if (!confirm(b.dataset.confirm ?? 'Delete?')) return;
    const r = await api('/delete_docs', { method: 'POST', json: JSON.parse(b.dataset.body ?? '{}') });
    await reload();
    const cancelled = r.cancelled_jobs?.length ? ` Cancelled the ${plural(r.cancelled_jobs.length, 'crawl')} storing them.` : '';
    flash(`Deleted ${plural(r.deleted_pages, 'page')} and ${plural(r.deleted_chunks, 'chunk')}.${cancelled}`);
  },
  async recrawl(b) {
    const r = await api('/recrawl_site', { method: 'POST', json: JSON.parse(b.dataset.body ?? '{}') });
    await load(`/ui/jobs/${encodeURIComponent(r.job_id)}`, { history: 'push' });
  },
  async cancel(b) {
    if (b.dataset.confirm && !confirm(b.dataset.confirm)) return;
    const r = await api('/cancel_job', { method: 'POST', json: JSON.parse(b.dataset.body ?? '{}') });
    flash(`Crawl ${r.status}: ${plural(r.pages_crawled, 'page')} stored.`);
  },
  async 'copy-markdown'(b) {
    const r = await api(`/get_doc_page?page_id=${encodeURIComponent(b.dataset.page ?? '')}`);
    await copyText(r.text);
    flash(`Copied ${plural(r.total_lines, 'line')} of Markdown.`);
  },
  async 'sign-out'() {
    sessionStorage.removeItem(TOKEN_KEY);
    signIn();
  },
};

/** @type {Record<string, (form: HTMLFormElement) => Promise<unknown>>} */
const FORMS = {
  search,
  async crawl(form) {
    const d = new FormData(form);
    const error = /** @type {HTMLElement} */ (form.querySelector('.error'));
    const tags = String(d.get('tags') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    const body = {
      url: String(d.get('url') ?? '').trim(),
      tags,
      max_pages: Number(d.get('max_pages')),
      max_depth: Number(d.get('max_depth')),
      scope: d.get('scope'),
      render: d.get('render'),
    };
    try {
      const r = await api('/fetch_url', { method: 'POST', json: body });
      await load(`/ui/jobs/${encodeURIComponent(r.job_id)}`, { history: 'push' });
    } catch (e) {
      if (e instanceof AuthError) throw e;
      error.textContent = e instanceof Error ? e.message : String(e);
      error.hidden = false;
    }
  },
  async 'sign-in'(form) {
    const value = String(new FormData(form).get('token') ?? '').trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    updateSignOut();
    await load(location.href, { history: 'none' });
  },
};

// ---------------------------------------------------------------- live job progress

/** @type {AbortController | undefined} */
let live;
let reloadTimer = 0;

function stopLive() {
  live?.abort();
  live = undefined;
}

/**
 * Reads a text/event-stream response, calling onEvent for each event.
 * @param {string} url @param {AbortSignal} signal @param {(event: string, data: any) => void} onEvent
 * @returns {Promise<boolean>} true when the server ended the stream with an `end` event
 */
async function readEvents(url, signal, onEvent) {
  const res = await request(url, { signal, accept: 'text/event-stream' });
  if (!res.ok || !res.body) throw new Error((await res.json().catch(() => ({}))).detail || `${res.status} ${res.statusText}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
      if (event === 'end') return true;
      if (data) onEvent(event, JSON.parse(data));
    }
  }
}

function startLive() {
  const one = /** @type {HTMLElement | null} */ (main.querySelector('[data-live-job]'));
  const all = main.querySelector('[data-live-jobs]');
  if (!one && !all) return;
  const url = one ? `/job_events?job_id=${encodeURIComponent(one.dataset.liveJob ?? '')}` : '/job_events';
  const ctrl = (live = new AbortController());
  const run = async (/** @type {number} */ attempt) => {
    try {
      const ended = await readEvents(url, ctrl.signal, (event, data) => event === 'progress' && showProgress(data));
      if (ended || ctrl.signal.aborted) return;
      attempt = 0;
    } catch (e) {
      if (ctrl.signal.aborted) return;
      if (e instanceof AuthError) return signIn();
    }
    // The stream broke (a server restart): connect again, waiting longer each time.
    setTimeout(() => !ctrl.signal.aborted && run(attempt + 1), Math.min(30_000, 1000 * 2 ** attempt));
  };
  run(0);
}

/** "12 s", "3 min 5 s", "1 h 4 min" */
function duration(/** @type {number} */ s) {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** Puts a job's progress event into every element showing that job. */
function showProgress(/** @type {any} */ e) {
  const roots = main.querySelectorAll(`[data-job="${CSS.escape(e.job_id)}"]`);
  if (!roots.length) {
    // A job this list does not show yet (just started elsewhere): fetch the list again, once.
    if (main.querySelector('[data-live-jobs]') && !reloadTimer) reloadTimer = window.setTimeout(() => ((reloadTimer = 0), reload()), 300);
    return;
  }
  const rate = e.pages_per_second === null ? '–' : `${e.pages_per_second.toLocaleString('en', { maximumFractionDigits: 1 })} pages/s`;
  /** @type {Record<string, string>} */
  const text = {
    status: e.status,
    pages_crawled: String(e.pages_crawled),
    pages_discovered: String(e.pages_discovered),
    pages_skipped: String(e.pages_skipped),
    rate: e.completed ? '–' : rate,
    eta: e.completed || e.eta_seconds === null ? '–' : duration(e.eta_seconds),
    error_message: e.error_message ?? '',
  };
  for (const root of roots) {
    for (const el of root.querySelectorAll('[data-field]')) {
      if (!(el instanceof HTMLElement)) continue;
      const field = el.dataset.field ?? '';
      if (el instanceof HTMLProgressElement) {
        el.max = Math.max(1, e.pages_total);
        el.value = e.status === 'completed' ? el.max : e.pages_crawled;
      } else if (field in text) el.textContent = text[field] ?? '';
      if (field === 'status') el.className = `status s-${e.status}`;
      if (field === 'error_message') el.hidden = !e.error_message;
    }
    for (const el of root.querySelectorAll('[data-when]')) {
      if (el instanceof HTMLElement) el.hidden = el.dataset.when === 'running' ? e.completed : e.status !== el.dataset.when;
    }
    const skipped = root.querySelector('[data-skipped]');
    if (skipped && skipped.children.length !== e.skipped.length) {
      skipped.replaceChildren(
        ...e.skipped.map((/** @type {{url: string, reason: string}} */ s) => {
          const tr = document.createElement('tr');
          const url = document.createElement('td');
          url.className = 'url';
          url.textContent = s.url;
          const reason = document.createElement('td');
          reason.textContent = s.reason;
          tr.append(url, reason);
          return tr;
        }),
      );
    }
    const none = root.querySelector('[data-when-empty="skipped"]');
    if (none instanceof HTMLElement) {
      none.hidden = e.skipped.length > 0;
      none.textContent = e.completed ? 'None.' : 'None so far.';
    }
  }
}

// ---------------------------------------------------------------- wiring

/** What a freshly shown screen needs: live progress, the sign-out button. */
function enhance() {
  startLive();
  updateSignOut();
}

document.addEventListener('click', (e) => {
  if (!(e.target instanceof Element)) return;
  const button = /** @type {HTMLButtonElement | null} */ (e.target.closest('button[data-action]'));
  if (button) {
    const action = ACTIONS[button.dataset.action ?? ''];
    if (!action) return;
    e.preventDefault();
    button.disabled = true;
    action(button).catch(failed).finally(() => (button.disabled = false));
    return;
  }
  const a = e.target.closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || !isScreenLink(a)) return;
  if (a.pathname === location.pathname && a.search === location.search && a.hash) return; // in-page anchor
  e.preventDefault();
  load(a.href, { history: 'push' });
});

document.addEventListener('submit', (e) => {
  const form = e.target;
  if (!(form instanceof HTMLFormElement)) return;
  const handler = FORMS[form.dataset.form ?? ''];
  if (!handler) return;
  e.preventDefault();
  handler(form).catch(failed);
});

// Changing the tag or the mode searches again when there is a query.
document.addEventListener('change', (e) => {
  const form = e.target instanceof HTMLElement && e.target.matches('select, input[type=radio]') ? e.target.closest('form[data-form="search"]') : null;
  if (form instanceof HTMLFormElement && /** @type {HTMLInputElement} */ (form.elements.namedItem('query')).value.trim()) search(form);
});

document.addEventListener('keydown', (e) => {
  const t = e.target instanceof Element ? e.target : null;
  const typing = !!t?.closest('input:not([type=radio]):not([type=checkbox]), textarea, select, [contenteditable]');
  if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
    e.preventDefault();
    const box = /** @type {HTMLInputElement | null} */ (main.querySelector('#q'));
    if (box) {
      box.focus();
      box.select();
    } else load('/', { history: 'push' });
  } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    moveInResults(e);
  }
});

window.addEventListener('popstate', () => {
  if (location.pathname + location.search !== shown) load(location.href, { history: 'none', focus: false });
  else if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
});

if (main.dataset.pending) {
  // The shell served when a token is required: sign in first, or load the screen with the stored token.
  if (token()) load(location.href, { history: 'none' });
  else signIn();
} else {
  enhance();
}
