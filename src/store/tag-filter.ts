/** Tag filters: `{tags: [...]}` or the Qdrant-style `{must: [{key: 'tags', match: {any: [...]}}]}`. */
import { ValidationError } from './validation.js';

export type TagFilter =
  | { tags?: readonly string[] }
  | { must: ReadonlyArray<{ key: string; match: { any?: readonly string[]; value?: string } }> };

/** Returns the tags to match (any of them), or undefined for no filter. */
export function tagsOfFilter(filter: TagFilter | undefined | null): string[] | undefined {
  if (!filter) return undefined;
  if ('must' in filter) {
    const tags: string[] = [];
    for (const cond of filter.must) {
      if (cond.key !== 'tags') {
        throw new ValidationError(`unsupported filter key "${cond.key}": only "tags" can be filtered on.`);
      }
      if (cond.match?.any) tags.push(...cond.match.any);
      else if (typeof cond.match?.value === 'string') tags.push(cond.match.value);
      else throw new ValidationError('a tags filter needs match.any (a list of tags) or match.value.');
    }
    return normaliseTags(tags);
  }
  return filter.tags ? normaliseTags(filter.tags) : undefined;
}

function normaliseTags(tags: readonly unknown[]): string[] | undefined {
  for (const t of tags) {
    if (typeof t !== 'string') throw new ValidationError(`tags must be strings (got ${JSON.stringify(t)}).`);
  }
  const out = [...new Set(tags as string[])];
  return out.length ? out : undefined;
}
