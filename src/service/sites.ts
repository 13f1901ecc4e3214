/** Everything indexed, by site and by tag (with page and chunk counts), and re-crawling a site. */
import { siteStats, tagStats, unattachedChunks } from '../store/sites.js';
import type { DoctorContext } from './context.js';
import { NotFoundError, ValidationError } from './errors.js';
import { parseInput, siteInput, type SiteInput } from './inputs.js';
import { fetchUrl } from './jobs.js';

export interface SiteEntry {
  root_page_id: string;
  url: string;
  title: string | null;
  domain: string | null;
  tags: string[];
  pages: number;
  chunks: number;
  last_crawl: string;
  job_id: string | null;
  /** False when the root page itself was deleted (the site is named after its shallowest page). */
  root_present: boolean;
}

export interface SiteOverview {
  sites: SiteEntry[];
  tags: { tag: string; sites: number; pages: number; chunks: number }[];
  /** Chunks stored without a page row (e.g. migrated from Qdrant), by domain. */
  unattached: { domain: string | null; chunks: number }[];
  totals: { sites: number; pages: number; chunks: number };
}

export async function siteOverview(ctx: DoctorContext, _input: object = {}): Promise<SiteOverview> {
  const [stats, tags, unattached] = await Promise.all([siteStats(ctx.store.db), tagStats(ctx.store.db), unattachedChunks(ctx.store.db)]);
  const sites: SiteEntry[] = stats.map((s) => ({
    root_page_id: s.root_page_id,
    url: s.url ?? s.first_url,
    title: s.title,
    domain: s.domain,
    tags: s.tags,
    pages: s.pages,
    chunks: s.chunks,
    last_crawl: s.last_crawl.toISOString(),
    job_id: s.job_id,
    root_present: s.url !== null,
  }));
  const sum = (f: (s: SiteEntry) => number) => sites.reduce((n, s) => n + f(s), 0);
  return {
    sites,
    tags,
    unattached,
    totals: { sites: sites.length, pages: sum((s) => s.pages), chunks: sum((s) => s.chunks) + unattached.reduce((n, u) => n + u.chunks, 0) },
  };
}

/**
 * Crawls a site again with the settings of the job that crawled it (start URL, tags, limits, scope,
 * patterns, rendering). Unchanged pages are kept as they are; changed ones are re-embedded.
 */
export async function recrawlSite(ctx: DoctorContext, input: SiteInput) {
  const { root_page_id } = parseInput(siteInput, input);
  const root = await ctx.store.pages.get(root_page_id);
  if (!root) throw new NotFoundError(`no site with root page "${root_page_id}": list sites with GET /sites.`);
  if (root.url.startsWith('file:')) {
    throw new ValidationError(`${root.url} was added from local files, not crawled: run add_local on its directory or archive again to update it.`);
  }
  const job = root.job_id ? await ctx.store.jobs.get(root.job_id) : undefined;
  // Tags are kept as they were stored (some may predate the limits on new tags, or come from an import).
  if (!job) return fetchUrl(ctx, { url: root.url }, { tags: root.tags });
  const o = job.options as { scope?: 'prefix' | 'host' | 'domain'; include?: string[]; exclude?: string[]; render?: 'never' | 'auto' | 'always'; respect_robots?: boolean };
  try {
    return await fetchUrl(ctx, {
      url: job.start_url,
      max_pages: job.max_pages,
      max_depth: job.max_depth ?? undefined,
      scope: o.scope,
      include: o.include,
      exclude: o.exclude,
      render: o.render,
      respect_robots: o.respect_robots,
    }, { tags: job.tags });
  } catch (e) {
    // The settings were accepted when the site was crawled (an earlier version, or an import), and the caller
    // of a re-crawl cannot change them: say so, and how to crawl the site with settings that are accepted.
    if (!(e instanceof ValidationError)) throw e;
    throw new ValidationError(
      `the crawl that stored this site (job ${job.job_id}) used settings that are refused now: ${e.message.replace(/[.\s]*$/, '')}. ` +
        `Crawl ${job.start_url} again with fetch_url (doctor crawl) and corrected settings; its pages are updated in place.`,
    );
  }
}
