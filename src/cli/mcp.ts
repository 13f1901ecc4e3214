/** `doctor mcp`: MCP over stdio, for Claude Desktop, Cursor, VS Code. */
import type { Command } from 'commander';
import { JobRunner } from '../ingest/job-runner.js';
import { runMcpStdio } from '../mcp/stdio.js';
import { withBackend } from './run-with-backend.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description('serve MCP over stdio (uses the running server when there is one, else the database directly)')
    .option('--read-only', 'hide write tools (fetch_url, delete_docs, cancel_job, add_local)')
    .option('--allow-local <dir>', 'let the agent index local files below this directory (add_local; without a server only); repeatable (env DOCTOR_ALLOW_LOCAL)', collect)
    .action(async (o: { readOnly?: boolean; allowLocal?: string[] }, cmd: Command) => {
      let runner: JobRunner | undefined;
      await withBackend(
        cmd,
        async (b) => {
          process.stderr.write(`doctor mcp: stdio, operations ${b.kind === 'remote' ? `on ${b.where}` : `on ${b.where}`}\n`);
          await runMcpStdio(b, { readOnly: o.readOnly || b.context?.config.readOnly });
        },
        {
          overrides: { allowLocal: o.allowLocal },
          prepareLocal: async (ctx) => {
            if (o.readOnly || ctx.config.readOnly) return;
            runner = new JobRunner(ctx);
            ctx.jobs = runner;
            await runner.start();
          },
        },
      ).finally(() => runner?.stop());
    });
}
