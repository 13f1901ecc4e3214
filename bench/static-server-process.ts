/**
 * A static file server for the crawl benchmark, in its own process so that serving pages costs the measured
 * crawl nothing. Prints `{"url": ...}` once listening. Usage: node --import tsx bench/static-server-process.ts DIR
 */
import { serveDirectory } from '../src/cli/static-site.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: static-server-process.ts DIR');
const { url } = await serveDirectory(dir);
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.on('SIGTERM', () => process.exit(0));
