/** MCP over stdio (`doctor mcp`): stdout carries only the protocol; logs go to stderr. */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Operations } from '../cli/backend.js';
import { createMcpServer, type McpOptions } from './server.js';

export async function runMcpStdio(ops: Operations, opts: McpOptions = {}): Promise<void> {
  const server = createMcpServer(ops, opts);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close();
}
