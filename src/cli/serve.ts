/** `doctor serve` */
import type { Command } from 'commander';
import { readServerInfo } from '../app/server-info.js';
import { startServer } from '../server/serve.js';
import { configFrom } from './global.js';
import { intOption } from './output.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the REST API, MCP (/mcp) and crawl workers (default http://127.0.0.1:9111)')
    .option('--host <host>', 'address to bind (env DOCTOR_HOST; default 127.0.0.1)')
    .option('--port <port>', 'port (env DOCTOR_PORT; default 9111)', intOption('--port'))
    .option('--read-only', 'refuse writes; MCP hides write tools (env DOCTOR_READ_ONLY)')
    .option('--allow-hosts <hosts>', 'hosts/IPs/CIDRs crawls may reach despite the SSRF guard (env DOCTOR_ALLOW_HOSTS)')
    .option('--allow-local <dir>', 'let REST and MCP callers index local files below this directory (add_local); repeatable (env DOCTOR_ALLOW_LOCAL)', collect)
    .option('--redis <url>', 'hand crawl pages to `doctor worker` processes through this Redis, e.g. redis://host:6379 (env DOCTOR_REDIS_URL)')
    .action(async (o: { host?: string; port?: number; readOnly?: boolean; allowHosts?: string; allowLocal?: string[]; redis?: string }, cmd: Command) => {
      const config = configFrom(
        cmd,
        { host: o.host, port: o.port, readOnly: o.readOnly, allowHosts: o.allowHosts, allowLocal: o.allowLocal, redisUrl: o.redis },
        { redisUrl: '--redis' },
        'info',
      );
      // A server already serving this database holds its lock: say so, instead of the lock message meant for
      // a server that does not answer (this one does, and every command can use it).
      const running = await readServerInfo(config).catch(() => undefined);
      if (running) {
        throw new Error(
          `a Doctor server already serves this database (${running.dbPath}) at ${running.url} (process ${running.pid}): use it ` +
            `(every doctor command and doctor mcp go through it), or stop it (Ctrl-C in its terminal, or kill ${running.pid}) and start this one again.`,
        );
      }
      const server = await startServer(config);
      process.stderr.write(`Doctor is serving on ${server.url}: web interface at /, REST, /docs, /mcp. Ctrl-C to stop.\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.stderr.write('Stopping...\n');
          server.close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
