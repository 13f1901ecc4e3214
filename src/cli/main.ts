/** The `doctor` command line. Each command lives in its own module and registers itself here. */
import { packageVersion } from '../version.js';
import { Command, CommanderError } from 'commander';
import { closestName } from '../closest-name.js';
import { endPastStuckThreads } from '../stuck-threads.js';
import { addGlobalOptions } from './global.js';
import { registerAdd } from './add.js';
import { registerCrawl } from './crawl.js';
import { registerDelete } from './delete.js';
import { registerDemo } from './demo.js';
import { registerServe } from './serve.js';
import { registerJobs } from './jobs.js';
import { registerIndex } from './index-cmd.js';
import { registerMcp } from './mcp.js';
import { registerMigrate } from './migrate.js';
import { registerModels } from './models.js';
import { registerPages } from './pages.js';
import { registerPortable } from './portable.js';
import { registerReembed } from './reembed.js';
import { registerCompact } from './compact.js';
import { registerSearch } from './search.js';
import { registerWorker } from './worker.js';

export function buildProgram(): Command {
  const program = addGlobalOptions(
    new Command('doctor')
      .description(
        'Doctor crawls documentation sites, indexes them in one DuckDB file, and serves search over REST, MCP and this CLI.',
      )
      .version(packageVersion()),
  );
  registerServe(program);
  registerCrawl(program);
  registerAdd(program);
  registerSearch(program);
  registerPages(program);
  registerJobs(program);
  registerDelete(program);
  registerMcp(program);
  registerMigrate(program);
  registerIndex(program);
  registerPortable(program);
  registerModels(program);
  registerReembed(program);
  registerCompact(program);
  registerWorker(program);
  registerDemo(program);
  registerHelp(program);
  pointAtOwnHelp(program, 'doctor');
  return program;
}

/**
 * `doctor help <command> [subcommand]`: that command's help, at any depth (`doctor help index status`); a name
 * that is no command is an error saying so (Commander's own printed the whole program's help instead).
 */
function registerHelp(program: Command): void {
  program.helpCommand(false);
  program
    .command('help')
    .description('display help for a command (doctor help index status)')
    .argument('[command...]', 'the command, and its subcommand if any')
    .action((names: string[]) => {
      let cmd = program;
      for (const name of names) {
        const known = cmd.commands.filter((c) => c.name() !== 'help');
        const sub = known.find((c) => c.name() === name || c.aliases().includes(name));
        if (!sub) {
          const names = known.map((c) => c.name());
          const starting = names.filter((n) => n.startsWith(name));
          const meant = starting.length === 1 ? starting[0] : closestName(name, names);
          const where = cmd === program ? 'doctor' : `doctor ${cmd.name()}`;
          throw new Error(`unknown command '${name}'${meant ? ` (did you mean ${meant}?)` : ''}: \`${where} --help\` lists the commands`);
        }
        cmd = sub;
      }
      cmd.outputHelp();
    });
}

/** A usage mistake in `doctor search` says to run `doctor search --help`, where that command's options are. */
function pointAtOwnHelp(cmd: Command, path: string): void {
  cmd.showHelpAfterError(`(run \`${path} --help\` for usage)`);
  for (const sub of cmd.commands) pointAtOwnHelp(sub, `${path} ${sub.name()}`);
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  quietWhenReaderLeaves(process.stdout);
  quietWhenReaderLeaves(process.stderr);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    reportError(e, (program.opts() as { logLevel?: string }).logLevel);
    process.exitCode = 1;
  }
  // the command has closed its database: a thread stuck in native code would make the exit wait forever
  endPastStuckThreads();
}

/**
 * `doctor pages | head -1`: once the reader has gone (EPIPE), further output is dropped and the command ends
 * as it would have, instead of dying on an unhandled 'error' event with a stack trace.
 */
function quietWhenReaderLeaves(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stream.write = (() => true) as typeof stream.write;
  });
}

/** One readable line for the user; the stack only with --log-level (or DOCTOR_LOG_LEVEL) debug or trace. */
export function reportError(e: unknown, logLevel = process.env.DOCTOR_LOG_LEVEL): void {
  const err = e as Error;
  const debug = ['debug', 'trace'].includes(logLevel ?? '');
  process.stderr.write(`doctor: ${debug ? err.stack : err.message ?? String(e)}\n`);
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) await main();
