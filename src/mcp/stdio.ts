/** MCP over stdio (`doctor mcp`): stdout carries only the protocol; logs go to stderr. */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { connectMcpServer, type McpOptions } from './server.js';
import type { McpTarget } from './operations.js';

/** Serves MCP on stdin/stdout until the client closes stdin. */
export async function runMcpStdio(target: McpTarget, opts: McpOptions = {}): Promise<void> {
  // Anything a dependency prints with console.log/info/debug would corrupt the protocol stream.
  console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  const server = await connectMcpServer(target, transport, opts);
  await closed;
  await server.close();
}
