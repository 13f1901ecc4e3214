/** Runs a command body against the backend (server or local database), closing it afterwards. */
import type { Command } from 'commander';
import type { ConfigOverrides } from '../config/config.js';
import { connectBackend, type Backend, type ConnectOptions } from '../app/backend.js';
import { configFrom } from './global.js';

export async function withBackend<T>(
  cmd: Command,
  fn: (backend: Backend) => Promise<T>,
  opts: ConnectOptions & { overrides?: ConfigOverrides } = {},
): Promise<T> {
  const config = configFrom(cmd, { logLevel: (cmd.optsWithGlobals() as { logLevel?: string }).logLevel ?? 'warn', ...opts.overrides });
  const command = ['doctor', cmd.name(), ...cmd.args].join(' ');
  const backend = await connectBackend(config, { command, ...opts });
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}
