/** The site map: sites (crawl roots), each site's page tree, and one page with its neighbours. */
import type { PageRecord, PageSummary } from '../store/pages.js';
import type { DoctorContext } from './context.js';
import { NotFoundError } from './errors.js';
import { normalizeUrl } from '../ingest/fetch/url.js';

export interface TreeNode {
  page: PageSummary;
  children: TreeNode[];
}

export async function listSites(ctx: DoctorContext) {
  return { sites: await ctx.store.pages.roots() };
}

/**
 * Deepest nesting of the tree: pages further down are listed at this depth, under their nearest shown
 * ancestor. Parent links come from the pages (an imported one may hold any), and a chain of 20,000 pages
 * overflowed the stack of the recursive rendering (the site map answered 500).
 */
export const MAX_TREE_DEPTH = 50;

/**
 * The pages under a root as a tree, built from the root down without recursion: pages whose parent is
 * missing, and pages in a parent cycle (which no walk from the root reaches), attach to the root.
 */
export async function siteTree(ctx: DoctorContext, rootPageId: string): Promise<{ root: TreeNode; pages: number }> {
  const pages = await ctx.store.pages.underRoot(rootPageId);
  const rootPage = pages.find((p) => p.id === rootPageId);
  if (!rootPage) throw new NotFoundError(`no site with root page "${rootPageId}".`);
  const ids = new Set(pages.map((p) => p.id));
  const kids = new Map<string, PageSummary[]>();
  for (const p of pages) {
    if (p.id === rootPageId) continue;
    const parent = p.parent_page_id && p.parent_page_id !== p.id && ids.has(p.parent_page_id) ? p.parent_page_id : rootPageId;
    const list = kids.get(parent);
    if (list) list.push(p);
    else kids.set(parent, [p]);
  }
  const root: TreeNode = { page: rootPage, children: [] };
  const placed = new Set([rootPageId]);
  // Each entry: a placed page, the node its children go under, and that node's depth.
  const walk = (start: { id: string; holder: TreeNode; depth: number }) => {
    const todo = [start];
    for (let next = todo.pop(); next; next = todo.pop()) {
      for (const child of kids.get(next.id) ?? []) {
        if (placed.has(child.id)) continue;
        placed.add(child.id);
        const node: TreeNode = { page: child, children: [] };
        next.holder.children.push(node);
        const deeper = next.depth + 1 < MAX_TREE_DEPTH;
        todo.push({ id: child.id, holder: deeper ? node : next.holder, depth: deeper ? next.depth + 1 : next.depth });
      }
    }
  };
  walk({ id: rootPageId, holder: root, depth: 0 });
  for (const p of pages) {
    if (placed.has(p.id)) continue;
    placed.add(p.id);
    const node: TreeNode = { page: p, children: [] };
    root.children.push(node);
    walk({ id: p.id, holder: node, depth: 1 });
  }
  return { root, pages: pages.length };
}

export interface PageView {
  page: PageRecord;
  breadcrumbs: PageSummary[];
  parent?: PageSummary;
  children: PageSummary[];
  previous?: PageSummary;
  next?: PageSummary;
}

export async function pageView(ctx: DoctorContext, pageId: string): Promise<PageView> {
  const page = await ctx.store.pages.get(pageId);
  if (!page) throw new NotFoundError(`no page with id "${pageId}".`);
  const breadcrumbs: PageSummary[] = [];
  const seen = new Set([page.id]);
  let parentId = page.parent_page_id;
  while (parentId && !seen.has(parentId) && breadcrumbs.length < 50) {
    seen.add(parentId);
    const p = await ctx.store.pages.get(parentId);
    if (!p) break;
    breadcrumbs.unshift(p);
    parentId = p.parent_page_id;
  }
  const parent = breadcrumbs[breadcrumbs.length - 1];
  const children = (await ctx.store.pages.children(page.id)).filter((c) => c.id !== page.id);
  let previous: PageSummary | undefined;
  let next: PageSummary | undefined;
  if (parent) {
    const siblings = (await ctx.store.pages.children(parent.id)).filter((c) => c.id !== parent.id);
    const i = siblings.findIndex((s) => s.id === page.id);
    previous = i > 0 ? siblings[i - 1] : undefined;
    next = i >= 0 ? siblings[i + 1] : undefined;
  }
  return { page, breadcrumbs, parent, children, previous, next };
}

/**
 * Where a page's links lead inside the site map: for each href (as written in the page, relative or
 * absolute), the id of the crawled page of the same site it points to. Links to pages that were not
 * crawled are left out (the site map links those to the original site).
 */
export async function siteLinkTargets(ctx: DoctorContext, page: PageSummary, hrefs: readonly string[]): Promise<Map<string, string>> {
  const wanted = new Map<string, string[]>();
  for (const href of new Set(hrefs)) {
    if (href.startsWith('#')) continue;
    const url = normalizeUrl(href, page.url);
    if (!url) continue;
    wanted.set(url, [...(wanted.get(url) ?? []), href]);
  }
  const out = new Map<string, string>();
  if (wanted.size === 0) return out;
  const byUrl = new Map<string, string>();
  for (const p of await ctx.store.pages.underRoot(page.root_page_id ?? page.id)) {
    const url = normalizeUrl(p.url) ?? p.url;
    byUrl.set(url, p.id);
    // A page stored as .../guide/ is the same page as .../guide (and the other way round).
    const other = url.endsWith('/') ? url.slice(0, -1) : `${url}/`;
    if (!byUrl.has(other)) byUrl.set(other, p.id);
  }
  for (const [url, sources] of wanted) {
    const id = byUrl.get(url);
    if (id) for (const href of sources) out.set(href, id);
  }
  return out;
}
