/** Cutting text to a length without splitting a character or (when it can) a word. */

/** `s` cut to at most `max` characters (at a space in the last fifth when there is one), "…" marking the cut. */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const space = s.lastIndexOf(' ', end);
  if (space > max * 0.8) end = space;
  else if (isLowSurrogate(s.charCodeAt(end))) end--; // never split a surrogate pair
  return `${s.slice(0, end).trimEnd()}…`;
}

/** A UTF-16 low surrogate: the second half of a pair, where text must not be cut. */
export function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
