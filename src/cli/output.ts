/** Printing command results: JSON for machines (--json), short readable text for people. */
import { NUMERIC_TEXT } from '../service/inputs.js';
import { snippet } from '../text/highlight.js';
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Control characters a terminal would act on rather than show (all but tab and newline). Page text, titles
 * and URLs come from crawled sites, local files and imported exports: printed as they were, an escape
 * sequence in them cleared the screen, recoloured the terminal, set its title, or (OSC 52) wrote to the
 * clipboard.
 */
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text for people: control characters shown as ^[ and the like (C1 ones as U+FFFD), never sent as they are
 * (CRLF line ends become plain newlines).
 */
export function println(line = ''): void {
  process.stdout.write(visible(line) + '\n');
}

/** `text` as println shows it: control characters as ^[ and the like (C1 ones as U+FFFD), CRLF as newlines. */
export function visible(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(TERMINAL_CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? `^${String.fromCharCode(code + 64)}` : code === 0x7f ? '^?' : '\ufffd';
  });
}

/**
 * A search result's passage to read at a glance: about `maxChars` of its text as plain text (links as their
 * text, no Markdown marks) around the place holding the most query words, shown as println shows text, with
 * those words in bold when `bold` (a terminal). Print it with process.stdout.write: println would show the bold's
 * own escape sequence.
 */
export function passage(markdown: string, terms: ReadonlySet<string>, opts: { maxChars?: number; bold?: boolean } = {}): string {
  const s = snippet(markdown, terms, opts.maxChars ?? 240);
  const text = s.segments.map((x) => (opts.bold && x.hit ? `\x1b[1m${visible(x.text)}\x1b[22m` : visible(x.text))).join('');
  return `${s.before ? '…' : ''}${text}${s.after ? '…' : ''}`;
}

/** Whether stdout is a terminal that may show bold (not with NO_COLOR set). */
export const boldOnStdout = (): boolean => !!process.stdout.isTTY && !process.env.NO_COLOR;

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
    // `export -o --help` would otherwise write an export into a directory named --help
    if (name.startsWith('--') && /^-/.test(value)) {
      throw new Error(`${name} needs a path and got "${value}", which looks like an option: give the path right after ${name} (write ./${value} for a path starting with "-")`);
    }
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
