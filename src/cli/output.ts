/** Printing command results: JSON for machines (--json), short readable text for people. */
import { NUMERIC_TEXT } from '../service/inputs.js';
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function println(line = ''): void {
  process.stdout.write(line + '\n');
}

/** Shortens text to one line of at most `max` characters. */
export function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

/**
 * A path argument or flag that must not be empty: resolved, "" would be the current directory, which
 * `doctor add ""` once indexed and `doctor export -o "" --force` once replaced.
 */
export function nonEmptyPath(name: string) {
  return (value: string): string => {
    if (!value.trim()) throw new Error(`${name} must not be empty: give a path ("." for the current directory)`);
    return value;
  };
}

/** A comma-separated flag value as a list. */
export function csv(value: string | undefined): string[] | undefined {
  const list = value?.split(',').map((s) => s.trim()).filter(Boolean);
  return list && list.length ? list : undefined;
}

/**
 * Parses a whole-number flag; with `min` (and `max`), one in that range. Flags whose values the service
 * layer checks leave the range to it; the others check it here, where the message can name the flag.
 */
export function intOption(name: string, min?: number, max?: number) {
  const range = min === undefined ? '' : max === undefined ? ` of at least ${min.toLocaleString('en-US')}` : ` from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`;
  return (value: string): number => {
    const n = NUMERIC_TEXT.test(value) ? Number(value) : Number.NaN; // not "" (0) or "0x10" (16)
    if (!Number.isInteger(n) || (min !== undefined && n < min) || (max !== undefined && n > max)) {
      throw new Error(`${name} must be a whole number${range} (got "${value}")`);
    }
    return n;
  };
}
