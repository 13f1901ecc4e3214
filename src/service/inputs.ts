/**
 * Input schemas of the service operations (zod). REST, MCP and CLI validate through these, so limits,
 * defaults and messages are the same everywhere.
 */
import { z } from 'zod';
import { compileUrlPattern } from '../ingest/fetch/url.js';
import { ValidationError } from './errors.js';

/** Tags arrive as a list, a single string, or a comma-separated string (CLI, query strings). */
export const tagsInput = z
  .union([z.array(z.string()), z.string()])
  .optional()
  .transform((v) => {
    if (v === undefined) return undefined;
    const list = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    return list.length ? [...new Set(list)] : undefined;
  });

const boolish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

export const searchDocsInput = z.object({
  query: z.string({ error: 'query is required' }).trim().min(1, 'query must not be empty').max(2000, 'query must be at most 2,000 characters'),
  tags: tagsInput,
  max_results: z.coerce.number().int().min(1).max(100).default(10),
  return_full_document_text: boolish.default(false),
  mode: z.enum(['hybrid', 'vector', 'keyword']).default('hybrid'),
});

export const listDocPagesInput = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  tags: tagsInput,
});

export const getDocPageInput = z.object({
  page_id: z.string({ error: 'page_id is required' }).min(1, 'page_id is required').max(200),
  starting_line: z.coerce.number().int().min(1).default(1),
  ending_line: z.coerce.number().int().min(-1).default(-1),
});

export const listTagsInput = z.object({
  search_substring: z.string().max(200).optional(),
});

/**
 * include/exclude URL patterns: each one must compile with the crawler's own compiler (so a pattern the
 * crawl would refuse is refused at submission, with the same message).
 */
const urlPatterns = z
  .array(
    z
      .string()
      .max(500)
      .superRefine((pattern, ctx) => {
        try {
          compileUrlPattern(pattern);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      }),
  )
  .max(50)
  .optional();

export const fetchUrlInput = z.object({
  url: z.string({ error: 'url is required' }).min(1, 'url is required').max(2048, 'url must be at most 2,048 characters'),
  tags: tagsInput,
  max_pages: z.coerce.number().int().min(1).max(1000).default(100),
  max_depth: z.coerce.number().int().min(0).max(20).optional(),
  scope: z.enum(['prefix', 'host', 'domain']).optional(),
  include: urlPatterns,
  exclude: urlPatterns,
  render: z.enum(['never', 'auto', 'always']).optional(),
  respect_robots: boolish.optional(),
});

export const jobProgressInput = z.object({
  job_id: z.string({ error: 'job_id is required' }).min(1, 'job_id is required').max(100),
});

export const deleteDocsInput = z
  .object({
    tags: tagsInput,
    domain: z.string().min(1).max(300).optional(),
    page_ids: z.array(z.string().min(1).max(200)).max(10_000).optional(),
    root_page_id: z.string().min(1).max(200).optional(),
  })
  .refine((v) => (v.tags?.length ?? 0) > 0 || !!v.domain || (v.page_ids?.length ?? 0) > 0 || !!v.root_page_id, {
    message: 'give at least one of tags, domain or page_ids, or root_page_id (deleting everything needs an explicit selector)',
  });

/** A site: the root page of a crawl (root_page_id of its pages, from list_doc_pages or /sites). */
export const siteInput = z.object({
  root_page_id: z.string({ error: 'root_page_id is required' }).min(1, 'root_page_id is required').max(200),
});

/** One job's events, or every job's when job_id is left out. */
export const jobEventsInput = z.object({
  job_id: z.string().min(1).max(100).optional(),
});

export type SearchDocsInput = z.input<typeof searchDocsInput>;
export type ListDocPagesInput = z.input<typeof listDocPagesInput>;
export type GetDocPageInput = z.input<typeof getDocPageInput>;
export type ListTagsInput = z.input<typeof listTagsInput>;
export type FetchUrlInput = z.input<typeof fetchUrlInput>;
export type JobProgressInput = z.input<typeof jobProgressInput>;
export type DeleteDocsInput = z.input<typeof deleteDocsInput>;
export type SiteInput = z.input<typeof siteInput>;
export type JobEventsInput = z.input<typeof jobEventsInput>;

/** Parses input with a schema; failures become one readable ValidationError. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const msg = r.error.issues
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
  throw new ValidationError(msg);
}
