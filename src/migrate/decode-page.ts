/** One scroll page from either source, checked point by point and packed for the bulk write. */
import { MigrationError } from './errors.js';
import type { DecodedPage } from './page-protocol.js';
import { packTerms } from '../text/packed-terms.js';
import { idProblem, packVector, payloadProblem, toChunkPayload } from './points.js';
import type { RawPage } from './source.js';

export function decodePage(raw: RawPage, dimension: number, collection: string): DecodedPage {
  const next = raw.next;
  if (typeof next === 'number' && !Number.isSafeInteger(next)) {
    throw new MigrationError(
      `Qdrant returned the page offset ${next}, an integer id above 2^53 that JavaScript cannot represent exactly, so paging would skip or repeat points. ` +
        'Migrate over gRPC (--grpc-url), where ids arrive exactly, or re-key such points to UUIDs in Qdrant first.',
    );
  }
  const vectors = slabOf(raw, dimension) ?? new Float32Array(raw.points.length * dimension);
  const page: Omit<DecodedPage, 'terms'> = { read: raw.points.length, next, ids: [], vectors, payloads: [], bad: [] };
  for (const p of raw.points) {
    const id = typeof p.id === 'object' && p.id !== null ? (JSON.stringify(p.id) ?? String(p.id)) : String(p.id);
    const reason = idProblem(p.id) ?? packVector(p.vector, dimension, vectors, page.ids.length) ?? payloadProblem(p.payload);
    if (reason) {
      page.bad.push({ id, reason });
      continue;
    }
    page.ids.push(id);
    page.payloads.push(toChunkPayload(p.payload, collection));
  }
  if (page.ids.length < raw.points.length) page.vectors = vectors.slice(0, page.ids.length * dimension);
  return { ...page, terms: packTerms(page.payloads) };
}

/**
 * The Float32Array the page's vectors already sit in, one row per point in order from its start (the REST
 * reader parses them so, see parseScrollAnswer), as a view of exactly the page's rows; packVector then
 * checks them in place instead of copying each into a new buffer.
 */
function slabOf(raw: RawPage, dimension: number): Float32Array | undefined {
  const first = raw.points[0]?.vector;
  if (!(first instanceof Float32Array) || first.byteOffset !== 0) return undefined;
  const bytes = dimension * 4;
  for (let i = 0; i < raw.points.length; i++) {
    const v = raw.points[i]!.vector;
    if (!(v instanceof Float32Array) || v.buffer !== first.buffer || v.byteOffset !== i * bytes || v.length !== dimension) return undefined;
  }
  return new Float32Array(first.buffer, 0, raw.points.length * dimension);
}
