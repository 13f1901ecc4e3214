/** One scroll page from either source, checked point by point and packed for the bulk write. */
import { MigrationError } from './errors.js';
import type { DecodedPage } from './page-protocol.js';
import { packTerms } from './page-terms.js';
import { idProblem, packVector, toChunkPayload } from './points.js';
import type { RawPage } from './source.js';

export function decodePage(raw: RawPage, dimension: number, collection: string): DecodedPage {
  const next = raw.next;
  if (typeof next === 'number' && !Number.isSafeInteger(next)) {
    throw new MigrationError(
      `Qdrant returned the page offset ${next}, an integer id above 2^53 that JavaScript cannot represent exactly, so paging would skip or repeat points. ` +
        'Migrate over gRPC (--grpc-url), where ids arrive exactly, or re-key such points to UUIDs in Qdrant first.',
    );
  }
  const vectors = new Float32Array(raw.points.length * dimension);
  const page: Omit<DecodedPage, 'terms'> = { read: raw.points.length, next, ids: [], vectors, payloads: [], bad: [] };
  for (const p of raw.points) {
    const id = String(p.id);
    const reason = idProblem(p.id) ?? packVector(p.vector, dimension, vectors, page.ids.length);
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
