/** Runs a command body against the backend (server or local database), closing it afterwards. */
import type { Command } from 'commander';
import type { ConfigOverrides } from '../config/config.js';
import { connectBackend, type Backend, type ConnectOptions } from '../app/backend.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../service/index.js';
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
    if (e instanceof ValidationError || e instanceof NotFoundError || e instanceof ConflictError || e instanceof ForbiddenError) {
      e.message = withCommandNames(e.message);
    }
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

/**
 * The service names the operations a message points to by their REST path and MCP tool name (list_doc_pages);
 * the CLI user runs commands. Each is the command that does it.
 */
const OPERATION_COMMANDS: Readonly<Record<string, string>> = {
  search_docs: '`doctor search <query>`',
  list_doc_pages: '`doctor pages`',
  get_doc_page: '`doctor page <page_id>`',
  list_tags: '`doctor tags`',
  fetch_url: '`doctor crawl <url>`',
  job_progress: '`doctor job <job_id>`',
  cancel_job: '`doctor cancel <job_id>`',
  delete_docs: '`doctor delete`',
  add_local: '`doctor add <path>`',
  index_status: '`doctor index status`',
  export_index: '`doctor export`',
  import_index: '`doctor import <path>`',
};

/** A service message with each operation name (a whole word, not a URL path) replaced by its CLI command. */
export function withCommandNames(message: string): string {
  const pattern = new RegExp(`(?<![\\w/-])(${Object.keys(OPERATION_COMMANDS).join('|')})(?![\\w-])`, 'g');
  return message.replace(pattern, (name: string) => OPERATION_COMMANDS[name]!);
}
