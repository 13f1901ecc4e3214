/** Options every command shares, and turning them into the validated configuration. */
import type { Command } from 'commander';
import { loadConfig, type ConfigOverrides, type DoctorConfig } from '../config/config.js';

export function addGlobalOptions(program: Command): Command {
  return program
    .option('--data-dir <dir>', 'data directory (env DATA_DIR; default ./data)')
    .option('--db-path <file>', 'database file (env DOCTOR_DB_PATH; default <data-dir>/doctor.duckdb)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env DOCTOR_LOG_LEVEL; default info)');
}

/**
 * The configuration for a command: defaults < environment < the command's (and global) flags. `flagNames`
 * names the flags whose names differ from their settings' (`--redis` for redisUrl), for error messages.
 */
export function configFrom(cmd: Command, extra: ConfigOverrides = {}, flagNames: Parameters<typeof loadConfig>[2] = {}): DoctorConfig {
  const o = cmd.optsWithGlobals() as Record<string, unknown>;
  return loadConfig({ dataDir: o.dataDir, dbPath: o.dbPath, logLevel: o.logLevel, ...extra }, process.env, flagNames);
}
