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

const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/**
 * A string field whose messages say what is wrong: missing, not a string, empty, or too long (with the limit),
 * instead of zod's generic "Invalid input".
 */
export function textField(name: string, max: number, opts: { what?: string } = {}) {
  const what = opts.what ?? 'characters';
  return z
    .string({ error: (iss) => (iss.input === undefined ? `${name} is required` : `${name} must be a string (got ${kindOf(iss.input)})`) })
    .max(max, { error: (iss) => `${name} is too long: at most ${max.toLocaleString('en-US')} ${what} (got ${String((iss.input as string).length)})` });
}

/** A whole-number field (numbers or numeric strings, as query strings send them) in [min, max]. */
function intField(name: string, min: number, max: number) {
  const range = `${name} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`;
  return z.coerce
    .number({ error: range })
    .int({ error: (iss) => `${range} (got ${String(iss.input)})` })
    .min(min, { error: (iss) => `${range} (got ${String(iss.input)})` })
    .max(max, { error: (iss) => `${range} (got ${String(iss.input)})` });
}

/** Job ids are UUIDs (hex): a prefix or id typed in capitals names the same job. */
const jobIdField = textField('job_id', 100)
  .min(1, 'job_id is required')
  .transform((s) => (/^[0-9a-f-]+$/i.test(s) ? s.toLowerCase() : s));

export const searchDocsInput = z.object({
  query: textField('query', 2000).trim().min(1, 'query must not be empty'),
  tags: tagsInput,
  max_results: intField('max_results', 1, 100).default(10),
  return_full_document_text: boolish.default(false),
  mode: z.enum(['hybrid', 'vector', 'keyword']).default('hybrid'),
});

export const listDocPagesInput = z.object({
  page: intField('page', 1, 1_000_000).default(1),
  tags: tagsInput,
});

export const getDocPageInput = z
  .object({
    page_id: textField('page_id', 200).min(1, 'page_id is required'),
    starting_line: intField('starting_line', 1, Number.MAX_SAFE_INTEGER).default(1),
    ending_line: intField('ending_line', -1, Number.MAX_SAFE_INTEGER)
      .refine((n) => n !== 0, 'ending_line must be -1 (to the end of the page) or a line number from 1')
      .default(-1),
  })
  .refine((v) => v.ending_line <= 0 || v.ending_line >= v.starting_line, {
    error: (iss) => {
      const v = iss.input as { starting_line: number; ending_line: number };
      return `ending_line (${v.ending_line}) is before starting_line (${v.starting_line}): give a range with starting_line <= ending_line, or ending_line -1 for the rest of the page`;
    },
    path: ['ending_line'],
  });

export const listTagsInput = z.object({
  search_substring: textField('search_substring', 200).optional(),
});

/**
 * include/exclude URL patterns: each one must compile with the crawler's own compiler (so a pattern the
 * crawl would refuse is refused at submission, with the same message).
 */
const urlPatterns = z
  .array(
    textField('include/exclude pattern', 500)
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
  url: textField('url', 2048).min(1, 'url is required'),
  tags: tagsInput,
  max_pages: intField('max_pages', 1, 1000).default(100),
  max_depth: intField('max_depth', 0, 20).optional(),
  scope: z.enum(['prefix', 'host', 'domain']).optional(),
  include: urlPatterns,
  exclude: urlPatterns,
  render: z.enum(['never', 'auto', 'always']).optional(),
  respect_robots: boolish.optional(),
});

export const jobProgressInput = z.object({
  job_id: jobIdField,
});

export const deleteDocsInput = z
  .object({
    tags: tagsInput,
    domain: textField('domain', 300).min(1, 'domain must not be empty').optional(),
    page_ids: z.array(textField('page_ids[]', 200).min(1, 'a page id must not be empty')).max(10_000).optional(),
    root_page_id: textField('root_page_id', 200).min(1, 'root_page_id must not be empty').optional(),
  })
  .refine((v) => (v.tags?.length ?? 0) > 0 || !!v.domain || (v.page_ids?.length ?? 0) > 0 || !!v.root_page_id, {
    message: 'give at least one of tags, domain or page_ids, or root_page_id (deleting everything needs an explicit selector)',
  });

/** A site: the root page of a crawl (root_page_id of its pages, from list_doc_pages or /sites). */
export const siteInput = z.object({
  root_page_id: textField('root_page_id', 200).min(1, 'root_page_id is required'),
});

/** One job's events, or every job's when job_id is left out. */
export const jobEventsInput = z.object({
  job_id: textField('job_id', 100).min(1, 'job_id must not be empty').optional(),
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
    .map((i) => {
      const path = i.path.join('.');
      // Messages that already name their field (see textField, intField) are not prefixed again.
      return path && !i.message.startsWith(String(i.path[0])) ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
  throw new ValidationError(msg);
}

/** Exclude patterns (gitignore syntax) for add_local: a list or one pattern. */
const excludePatterns = z
  .union([z.array(textField('exclude', 1000)), textField('exclude', 1000)])
  .optional()
  .transform((v) => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((s) => s.trim()).filter(Boolean)))
  .refine((v) => v.length <= 200, 'at most 200 exclude patterns');

/** add_local: a local directory, archive or file to index (service/local.ts). */
export const addLocalInput = z.object({
  path: textField('path', 4096).trim().min(1, 'path is required: a directory, an archive (.zip, .tar, .tar.gz) or a file, as an absolute path or a file:// URL'),
  tags: tagsInput,
  base_url: z
    .string()
    .max(2000)
    .refine((u) => /^https?:\/\//i.test(u) && URL.canParse(u), 'base_url must be an http(s) URL, the address where these files are published (e.g. https://docs.example.com/)')
    .optional(),
  exclude: excludePatterns,
  max_file_bytes: z.coerce
    .number()
    .int()
    .min(1024, 'max_file_bytes must be at least 1024')
    .max(2 ** 30, 'max_file_bytes must be at most 1 GiB')
    .optional(),
});

