/** Runs a command body against the backend (server or local database), closing it afterwards. */
import type { Command } from 'commander';
import type { ConfigOverrides } from '../config/config.js';
import { connectBackend, type Backend, type ConnectOptions } from '../app/backend.js';
import { ValidationError } from '../service/index.js';
import { configFrom } from './global.js';

export async function withBackend<T>(
  cmd: Command,
  fn: (backend: Backend) => Promise<T>,
  opts: ConnectOptions & { overrides?: ConfigOverrides; flagNames?: Readonly<Record<string, string>> } = {},
): Promise<T> {
  const config = configFrom(cmd, opts.overrides);
  const command = ['doctor', cmd.name(), ...cmd.args].join(' ');
  const backend = await connectBackend(config, { command, ...opts });
  try {
    return await fn(backend);
  } catch (e) {
    if (e instanceof ValidationError) e.message = withFlagNames(e.message, fieldFlags(cmd), opts.flagNames);
    throw e;
  } finally {
    await backend.close();
  }
}

/**
 * The service checks its inputs by their API names (max_results); the CLI user typed flags (--max-results).
 * Each option's API field is its name in snake_case (pageIds: page_ids), unless the command names it.
 */
function fieldFlags(cmd: Command): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of cmd.options) {
    if (!o.long || o.negate) continue;
    out[o.attributeName().replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = o.long;
  }
  return out;
}

/**
 * A service message with each API field name replaced by the flag that sets it: a name with an underscore,
 * or one the command named (flagNames), wherever it stands; another plain word (tags, page) only where it
 * starts the message or one of its "; " parts, where it can only be the field.
 */
export function withFlagNames(message: string, derived: Readonly<Record<string, string>>, named: Readonly<Record<string, string>> = {}): string {
  const flags = { ...derived, ...named };
  const names = Object.keys(flags).sort((a, b) => b.length - a.length);
  if (!names.length) return message;
  // a list item's path (include.0) names the flag alone: the message quotes the value
  const pattern = new RegExp(`(?<![\\w-])(${names.join('|')})(?:\\.\\d+)*(?![\\w-])`, 'g');
  const anywhere = (name: string) => name.includes('_') || name in named;
  return message.replace(pattern, (match: string, name: string, at: number) =>
    anywhere(name) || at === 0 || message.slice(at - 2, at) === '; ' ? flags[name]! : match,
  );
}
