/**
 * Input schemas of the service operations (zod). REST, MCP and CLI validate through these, so limits,
 * defaults and messages are the same everywhere.
 */
import { z } from 'zod';
import { checkUrlPattern, MAX_URL_LENGTH } from '../ingest/fetch/url.js';
import { closestName } from '../closest-name.js';
import { JOB_STATUSES } from '../store/jobs.js';
import { MAX_PAGE_ID_CHARS } from '../store/validation.js';
import { ValidationError } from './errors.js';

/** Half of a UTF-16 surrogate pair on its own: JSON can carry one ("\\ud800"), UTF-8 cannot store it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const hasLoneSurrogate = (s: string) => LONE_SURROGATE.test(s);
const NOT_UNICODE = 'must be valid Unicode text (it holds a lone UTF-16 surrogate such as "\\ud800", which would be stored as "\ufffd")';

/** Tags a request may give, and a tag's length: tags are words to filter on, not documents. */
export const MAX_TAGS = 100;
export const MAX_TAG_CHARS = 200;
const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/;

/** Tags arrive as a list, a single string, or a comma-separated string (CLI, query strings). */
const tagList = z
  .union([z.array(z.string()), z.string()], {
    error: (iss) => `tags must be a list of strings or one comma-separated string (got ${kindOf(iss.input)}${listItemKinds(iss.input)})`,
  })
  .optional()
  .transform((v) => {
    if (v === undefined) return undefined;
    const list = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    return list.length ? [...new Set(list)] : undefined;
  })
  .refine((list) => !list?.some(hasLoneSurrogate), `tags ${NOT_UNICODE}`);

const tooManyTags = (list: string[] | undefined) =>
  list && list.length > MAX_TAGS ? `tags has too many entries: at most ${MAX_TAGS} (got ${list.length.toLocaleString('en-US')})` : undefined;

/**
 * Tags to select by (search_docs, list_doc_pages, delete_docs, export): any tag a page may hold, also one
 * stored before tags were bounded (or imported) that tagsInput would now refuse, so it can still be found
 * and deleted; at most MAX_TAGS of them.
 */
export const tagFilterInput = tagList
  .superRefine((list, ctx) => {
    const many = tooManyTags(list);
    if (many) ctx.addIssue({ code: 'custom', message: many, input: list });
  })
  // A tag in either Unicode form ("café" composed, or "cafe" + U+0301 as some keyboards and macOS file names give it)
  // selects the pages of both: tags are stored composed (tagsInput), older ones as they came.
  .transform((list) => list && [...new Set(list.flatMap((t) => [t, t.normalize('NFC'), t.normalize('NFD')]))]);

/** Tags to store on pages (fetch_url, add_local): bounded in number and length, no control characters. */
export const tagsInput = tagList
  .superRefine((list, ctx) => {
    if (!list) return;
    const say = (message: string) => ctx.addIssue({ code: 'custom', message, input: list });
    const many = tooManyTags(list);
    if (many) return say(many);
    const long = list.find((t) => t.length > MAX_TAG_CHARS);
    if (long) say(`tags must each be at most ${MAX_TAG_CHARS} characters (got one of ${long.length.toLocaleString('en-US')}: ${shown(long)}...)`);
    const control = list.find((t) => CONTROL_CHAR.test(t));
    if (control) say(`tags must not hold control characters such as a newline, tab or NUL (got ${JSON.stringify(control.slice(0, 50))})`);
  })
  // stored in one Unicode form (composed), so that "café" typed either way is one tag
  .transform((list) => list && [...new Set(list.map((t) => t.normalize('NFC')))]);

/**
 * The words a yes/no field takes as text, in any case: those FastAPI (pydantic) took in the Python Doctor's query
 * strings, so a Python client's `params={"return_full_document_text": True}` (sent by requests as "True") still works.
 */
const TRUE_WORDS = ['true', '1', 'yes', 'on', 't', 'y'];
const BOOL_WORDS = new RegExp(`^(${[...TRUE_WORDS, 'false', '0', 'no', 'off', 'f', 'n'].join('|')})$`, 'i');

/** A yes/no field: true or false, or (as query strings send them) "true"/"false", "1"/"0", "yes"/"no", "on"/"off", any case. */
export function boolField(name: string) {
  const error = (iss: { input: unknown }) => `${name} must be true or false (got ${shown(iss.input)})`;
  return z
    .union([z.boolean(), z.string().regex(BOOL_WORDS, { error })], { error })
    .transform((v) => v === true || (typeof v === 'string' && TRUE_WORDS.includes(v.toLowerCase())));
}

/** One of a fixed set of words; the message lists them. */
function enumField<const T extends readonly [string, ...string[]]>(name: string, values: T) {
  const allowed = `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
  return z.enum(values, {
    error: (iss) => `${name} must be one of ${allowed} (got ${shown(iss.input)})`,
  });
}

/** A list field whose messages say what it must hold and how long it may be. */
function listField<T extends z.ZodType>(name: string, item: T, max: number, what: string, tooMany: string) {
  return z
    .array(item, { error: (iss) => `${name} must be a list of ${what} (got ${kindOf(iss.input)})` })
    .max(max, { error: (iss) => `${name} has too many entries: at most ${max.toLocaleString('en-US')} (got ${(iss.input as unknown[]).length.toLocaleString('en-US')}): ${tooMany}` });
}

const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/** A wrong value as a message shows it: a string quoted (its start), anything else by its kind. */
const shown = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.slice(0, 50)) : kindOf(v));

/** For a list that should hold strings: what else it holds (" holding a number"), or nothing. */
const listItemKinds = (v: unknown) => {
  const at = Array.isArray(v) ? v.findIndex((x) => typeof x !== 'string') : -1;
  return at >= 0 ? ` holding ${kindOf((v as unknown[])[at])}` : '';
};

/**
 * A string field whose messages say what is wrong: missing, not a string, empty, or too long (with the limit),
 * instead of zod's generic "Invalid input".
 */
export function textField(name: string, max: number, opts: { what?: string } = {}) {
  const what = opts.what ?? 'characters';
  return z
    .string({ error: (iss) => (iss.input === undefined ? `${name} is required` : `${name} must be a string (got ${kindOf(iss.input)})`) })
    .max(max, { error: (iss) => `${name} is too long: at most ${max.toLocaleString('en-US')} ${what} (got ${String((iss.input as string).length)})` })
    .refine((v) => !hasLoneSurrogate(v), `${name} ${NOT_UNICODE}`);
}

/** A whole-number field (numbers or numeric strings, as query strings send them) in [min, max]. */
export function intField(name: string, min: number, max: number) {
  const range = `${name} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`;
  return z.coerce
    .number({ error: range })
    .int({ error: (iss) => `${range} (got ${String(iss.input)})`, abort: true })
    .min(min, { error: (iss) => `${range} (got ${String(iss.input)})` })
    .max(max, { error: (iss) => `${range} (got ${String(iss.input)})` });
}

/** Job ids are UUIDs (hex): a prefix or id typed in capitals names the same job. */
const jobIdField = textField('job_id', 100)
  .min(1, 'job_id is required')
  .transform((s) => (/^[0-9a-f-]+$/i.test(s) ? s.toLowerCase() : s));

export const searchDocsInput = z.object({
  // composed (NFC), the form pages are written in: the embedding of "cafe" + a combining accent is another one
  query: textField('query', 2000).trim().min(1, 'query must not be empty').transform((q) => q.normalize('NFC')),
  tags: tagFilterInput,
  max_results: intField('max_results', 1, 100).default(10),
  return_full_document_text: boolField('return_full_document_text').default(false),
  mode: enumField('mode', ['hybrid', 'vector', 'keyword']).default('hybrid'),
});

export const listDocPagesInput = z.object({
  page: intField('page', 1, 1_000_000).default(1),
  tags: tagFilterInput,
});

export const getDocPageInput = z
  .object({
    page_id: textField('page_id', MAX_PAGE_ID_CHARS).min(1, 'page_id must not be empty').optional(),
    // the page by its URL instead (as search_docs and list_doc_pages give it, or as it was crawled)
    url: textField('url', MAX_URL_LENGTH).min(1, 'url must not be empty').optional(),
    starting_line: intField('starting_line', 1, Number.MAX_SAFE_INTEGER).default(1),
    ending_line: intField('ending_line', -1, Number.MAX_SAFE_INTEGER)
      .refine((n) => n !== 0, 'ending_line must be -1 (to the end of the page) or a line number from 1')
      .default(-1),
    chunk_id: textField('chunk_id', MAX_PAGE_ID_CHARS).min(1, 'chunk_id must not be empty').optional(),
  })
  .refine((v) => (v.page_id === undefined) !== (v.url === undefined), {
    error: (iss) =>
      (iss.input as { page_id?: unknown }).page_id === undefined
        ? 'page_id is required: the id of a page from search_docs or list_doc_pages (or give the url of a stored page instead)'
        : 'give page_id or url, not both',
    path: ['page_id'],
  })
  .refine((v) => v.ending_line <= 0 || v.ending_line >= v.starting_line, {
    error: (iss) => {
      const v = iss.input as { starting_line: number; ending_line: number };
      return `ending_line (${v.ending_line}) is before starting_line (${v.starting_line}): give a range with starting_line <= ending_line, or ending_line -1 for the rest of the page`;
    },
    path: ['ending_line'],
  });

/** `GET /jobs` and `doctor jobs` (Doctor's own: the Python service had no job listing). */
export const listJobsInput = z.object({
  limit: intField('limit', 1, 1000).default(50),
  status: tagsInput.pipe(
    z.array(z.enum(JOB_STATUSES, { error: (iss) => `status must be one of ${JOB_STATUSES.join(', ')} (got ${shown(String(iss.input))})` })).optional(),
  ),
});

export const listTagsInput = z.object({
  search_substring: textField('search_substring', 200).optional(),
});

/**
 * include/exclude URL patterns: each one must compile with the crawler's own compiler (so a pattern the
 * crawl would refuse is refused at submission, with the same message), and must be able to match a URL
 * (checkUrlPattern: not `/html/x` nor `/docs/*`).
 */
const urlPatterns = (name: 'include' | 'exclude') =>
  listField(
    name,
    textField(`${name} pattern`, 500).superRefine((pattern, ctx) => {
      try {
        checkUrlPattern(pattern);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    }),
    50,
    'URL patterns (strings)',
    'combine patterns (a glob or regular expression can match many URLs)',
  ).optional();

export const fetchUrlInput = z.object({
  url: textField('url', 2048).min(1, 'url is required'),
  tags: tagsInput,
  max_pages: intField('max_pages', 1, 1000).default(100),
  max_depth: intField('max_depth', 0, 20).optional(),
  scope: enumField('scope', ['prefix', 'host', 'domain']).optional(),
  include: urlPatterns('include'),
  exclude: urlPatterns('exclude'),
  render: enumField('render', ['never', 'auto', 'always']).optional(),
  respect_robots: boolField('respect_robots').optional(),
});

export const jobProgressInput = z.object({
  job_id: jobIdField,
});

export const deleteDocsInput = z
  .object({
    tags: tagFilterInput,
    domain: textField('domain', 300).min(1, 'domain must not be empty').optional(),
    page_ids: listField('page_ids', textField('page_ids[]', MAX_PAGE_ID_CHARS).min(1, 'a page id must not be empty'), 10_000, 'page ids (strings)', 'delete in several requests').optional(),
    root_page_id: textField('root_page_id', MAX_PAGE_ID_CHARS).min(1, 'root_page_id must not be empty').optional(),
  })
  .refine((v) => (v.tags?.length ?? 0) > 0 || !!v.domain || (v.page_ids?.length ?? 0) > 0 || !!v.root_page_id, {
    message: 'give at least one of tags, domain or page_ids, or root_page_id (deleting everything needs an explicit selector)',
  });

/** A site: the root page of a crawl (root_page_id of its pages, from list_doc_pages or /sites). */
export const siteInput = z.object({
  root_page_id: textField('root_page_id', MAX_PAGE_ID_CHARS).min(1, 'root_page_id is required'),
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
export type ListJobsInput = z.input<typeof listJobsInput>;
export type DeleteDocsInput = z.input<typeof deleteDocsInput>;
export type SiteInput = z.input<typeof siteInput>;
export type JobEventsInput = z.input<typeof jobEventsInput>;

/** Parses input with a schema; failures become one readable ValidationError. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const value = input ?? {};
  if (schema instanceof z.ZodObject && (typeof value !== 'object' || Array.isArray(value))) {
    throw new ValidationError(`the inputs must be a JSON object of named fields, e.g. {"${Object.keys(schema.shape)[0]}": ...} (got ${kindOf(value)})`);
  }
  const typos = schema instanceof z.ZodObject ? misspelledFields(Object.keys(schema.shape), value as Record<string, unknown>) : [];
  const r = schema.safeParse(schema instanceof z.ZodObject ? withNonNumbersMarked(schema, withoutAbsentNulls(schema, value as Record<string, unknown>)) : value);
  if (r.success && !typos.length) return r.data;
  const messages = (r.success ? [] : r.error.issues).map((i) => {
    const path = i.path.join('.');
    // A number field's coercion leaves NaN where the value was, so the message shows the value as it came.
    const message = i.code === 'invalid_type' && i.expected === 'number' && !i.message.includes('(got ') ? `${i.message} (got ${gotValue(valueAt(value, i.path))})` : i.message;
    // Messages that already name their field (see textField, intField) are not prefixed again.
    return path && !message.startsWith(String(i.path[0])) ? `${path}: ${message}` : message;
  });
  // One wrong value can fail several checks with the same message (1e308 is neither safe nor in range).
  throw new ValidationError([...new Set([...typos, ...messages])].join('; '));
}

/**
 * Unknown fields that look like a misspelling of a known one (`max_page`, `maxPages`, `tag`), each as a
 * message naming the field meant. Other unknown fields are ignored, as the Python service ignored them:
 * existing clients may send extras, but a typo would otherwise silently leave its field at the default.
 */
function misspelledFields(known: readonly string[], input: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const key of Object.keys(input)) {
    if (known.includes(key) || input[key] === undefined || key.length > 64) continue;
    const meant = closestName(key, known);
    if (meant) out.push(`${JSON.stringify(key.slice(0, 50))} is not an input here: did you mean ${meant}?`);
  }
  return out;
}

/**
 * The fields given as null that are optional without a default (tags, max_depth, domain...): a null there
 * means "not given", as Python clients (pydantic's None) and LLM agents send it. A field with a default
 * (max_results = 10) still refuses null, as the Python service did.
 */
export function absentNullFields(schema: z.ZodObject, input: Record<string, unknown>): string[] {
  return Object.keys(schema.shape).filter((key) => {
    if (input[key] !== null) return false;
    const r = (schema.shape[key] as z.ZodType).safeParse(undefined);
    return r.success && r.data === undefined;
  });
}

function withoutAbsentNulls(schema: z.ZodObject, input: Record<string, unknown>): Record<string, unknown> {
  const absent = absentNullFields(schema, input);
  if (!absent.length) return input;
  const out = { ...input };
  for (const key of absent) delete out[key];
  return out;
}

/** A number as it comes in JSON or in a query string: digits, maybe a sign, a fraction and an exponent. */
export const NUMERIC_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i;

/**
 * The input with every value of a number field that is not a number or a number's text replaced by NaN, which
 * the field refuses (the message shows the value as it came, see valueAt). Coercion alone would read an empty
 * query value (`?max_depth=`), null, false or [] as 0, true as 1 and "0x10" as 16, and go on with a number the
 * caller never gave.
 */
function withNonNumbersMarked(schema: z.ZodObject, input: Record<string, unknown>): Record<string, unknown> {
  let out = input;
  for (const [key, field] of Object.entries(schema.shape)) {
    const v = input[key];
    if (v === undefined || typeof v === 'number' || (typeof v === 'string' && NUMERIC_TEXT.test(v)) || !isNumberField(field)) continue;
    if (out === input) out = { ...input };
    out[key] = Number.NaN;
  }
  return out;
}

/** Whether a field, under its default or optional, is a number. */
function isNumberField(field: z.ZodType): boolean {
  let f: z.ZodType = field;
  while (f instanceof z.ZodDefault || f instanceof z.ZodOptional || f instanceof z.ZodNullable) f = f.unwrap() as z.ZodType;
  return f instanceof z.ZodNumber;
}

const gotValue = (v: unknown) => (v === undefined ? 'nothing' : shown(v));

/** The value at a path of an input (undefined where the path leads nowhere). */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/** Exclude patterns (gitignore syntax) for add_local: a list or one pattern. */
const excludePatterns = z
  .union([z.array(textField('exclude', 1000)), textField('exclude', 1000)], {
    error: (iss) => `exclude must be a list of patterns or one pattern (got ${kindOf(iss.input)}${listItemKinds(iss.input)})`,
  })
  .optional()
  .transform((v) => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((s) => s.trim()).filter(Boolean)))
  .refine((v) => v.length <= 200, 'at most 200 exclude patterns');

/** add_local: a local directory, archive or file to index (service/local.ts). */
export const addLocalInput = z.object({
  path: textField('path', 4096).trim().min(1, 'path is required: a directory, an archive (.zip, .tar, .tar.gz) or a file, as an absolute path or a file:// URL'),
  tags: tagsInput,
  base_url: textField('base_url', 2000)
    .refine((u) => /^https?:\/\//i.test(u) && URL.canParse(u), 'base_url must be an http(s) URL, the address where these files are published (e.g. https://docs.example.com/)')
    .optional(),
  exclude: excludePatterns,
  max_file_bytes: intField('max_file_bytes', 1024, 2 ** 30).optional(),
});

