/**
 * The manifest of an exported index (`manifest.json` beside the Parquet files): what made it, what it
 * holds and how to check it. Read back with a schema, so a hand-edited or foreign file is refused with a
 * message naming the field.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { ValidationError } from '../store/validation.js';

export const EXPORT_FORMAT = 'doctor-index-export';
/** Bumped when the files or their columns change in a way older Doctors cannot read. */
export const EXPORT_FORMAT_VERSION = 1;
export const MANIFEST_NAME = 'manifest.json';
export const PAGES_FILE = 'pages.parquet';
export const CHUNKS_FILE = 'chunks.parquet';
/** Every name an export may hold (an archive with anything else is refused). */
export const EXPORT_FILES = [MANIFEST_NAME, PAGES_FILE, CHUNKS_FILE] as const;

const fileEntry = z.object({
  name: z.enum([PAGES_FILE, CHUNKS_FILE]),
  rows: z.number().int().min(0),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
});

export const manifestSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  format_version: z.number().int().min(1),
  doctor_version: z.string(),
  schema_version: z.number().int().min(1),
  created_at: z.string(),
  embedding: z.object({
    provider: z.string(),
    model: z.string().min(1),
    dimension: z.number().int().min(1).max(65536),
  }),
  filters: z.object({ tags: z.array(z.string()).nullable(), domain: z.string().nullable() }),
  counts: z.object({ pages: z.number().int().min(0), chunks: z.number().int().min(0) }),
  files: z.object({ pages: fileEntry, chunks: fileEntry }),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof fileEntry>;

/** Parses manifest text; a bad one gets a ValidationError saying what is wrong. */
export function parseManifest(text: string, where: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`${where} is not valid JSON (${(e as Error).message}): it is not a Doctor export, or it was damaged.`);
  }
  const format = (raw as { format?: unknown } | null)?.format;
  if (format !== EXPORT_FORMAT) {
    throw new ValidationError(`${where} is not the manifest of a Doctor export (format ${JSON.stringify(format)}, expected "${EXPORT_FORMAT}").`);
  }
  const version = (raw as { format_version?: unknown }).format_version;
  if (typeof version === 'number' && version > EXPORT_FORMAT_VERSION) {
    const by = (raw as { doctor_version?: unknown }).doctor_version;
    throw new ValidationError(
      `${where} has export format version ${version}, written by Doctor ${String(by)}; this Doctor reads up to version ` +
        `${EXPORT_FORMAT_VERSION}. Upgrade Doctor to import it.`,
    );
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new ValidationError(`${where} is not a valid Doctor export manifest (${issues}).`);
  }
  return r.data;
}

/** SHA-256 (hex) and size of a file, read as a stream. */
export async function fileDigest(path: string, onBytes?: (n: number) => void): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const buf of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(buf as Buffer);
    bytes += (buf as Buffer).length;
    onBytes?.((buf as Buffer).length);
  }
  return { sha256: hash.digest('hex'), bytes };
}
