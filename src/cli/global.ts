/** Options every command shares, and turning them into the validated configuration. */
import type { Command } from 'commander';
import { envVarOf, loadConfig, unknownSettingVars, type ConfigOverrides, type DoctorConfig } from '../config/config.js';

export function addGlobalOptions(program: Command): Command {
  return program
    .option('--data-dir <dir>', 'data directory (env DATA_DIR; default ./data)')
    .option('--db-path <file>', 'database file (env DOCTOR_DB_PATH; default <data-dir>/doctor.duckdb)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env DOCTOR_LOG_LEVEL; default warn, info for serve and worker)');
}

/** Unknown DOCTOR_* variables are pointed out once per process. */
let warned = false;

/**
 * The configuration for a command: defaults < environment < the command's (and global) flags. `flagNames`
 * names the flags whose names differ from their settings' (`--redis` for redisUrl), for error messages.
 * The log level is --log-level, else DOCTOR_LOG_LEVEL (both checked), else `defaultLogLevel`: warnings and
 * errors only for a one-shot command, whose output is its answer; `info` for serve and worker.
 */
export function configFrom(
  cmd: Command,
  extra: ConfigOverrides = {},
  flagNames: Parameters<typeof loadConfig>[2] = {},
  defaultLogLevel: 'warn' | 'info' = 'warn',
): DoctorConfig {
  const o = cmd.optsWithGlobals() as Record<string, unknown>;
  if (!warned) {
    warned = true;
    for (const w of unknownSettingVars(process.env)) process.stderr.write(`doctor: warning: ${w}\n`);
  }
  const logLevel = o.logLevel ?? (process.env[envVarOf('logLevel')] ? undefined : defaultLogLevel);
  return loadConfig({ dataDir: o.dataDir, dbPath: o.dbPath, logLevel, ...extra }, process.env, flagNames);
}
