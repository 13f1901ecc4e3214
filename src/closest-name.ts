/**
 * The known name an unknown one is most likely a misspelling of (`max_page` -> max_pages, `maxDepth` ->
 * max_depth, `DOCTOR_EMBEDING_MODEL` -> DOCTOR_EMBEDDING_MODEL), or undefined. Names are compared without
 * case, separators and `prefix`: the same there, or one a plural of the other, always match; a few edits
 * (a quarter of the name's letters) only on names of 5+ letters, since one letter off a short name (mode,
 * url) is often another word a caller uses for its own reasons (model, uri). Two neighbouring letters swapped
 * (`DOCTOR_WORKRES`) count as one edit, as a typist makes them.
 */
import { distance } from 'fastest-levenshtein';

export function closestName(name: string, known: readonly string[], prefix = ''): string | undefined {
  const squash = (s: string) => (s.startsWith(prefix) ? s.slice(prefix.length) : s).toLowerCase().replace(/[^a-z0-9]/g, '');
  const a = squash(name);
  let meant: string | undefined;
  let best = Infinity;
  for (const k of known) {
    const b = squash(k);
    const d = a === b || a === `${b}s` || `${a}s` === b ? 0 : b.length >= 5 ? (oneSwap(a, b) ? 1 : distance(a, b)) : Infinity;
    if (d <= Math.floor(b.length / 4) && d < best) [meant, best] = [k, d];
  }
  return meant;
}

/** Whether `a` is `b` with two neighbouring letters swapped. */
function oneSwap(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i < a.length - 1 && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}
