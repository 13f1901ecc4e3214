/** MCP over stdio (`doctor mcp`): stdout carries only the protocol; logs go to stderr. */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { connectMcpServer, type McpOptions } from './server.js';
import type { McpTarget } from './operations.js';

/**
 * Serves MCP on stdin/stdout until the client closes stdin, then answers the requests it has already received
 * (`printf '<initialize>\n<initialized>\n<tools/call>\n' | doctor mcp` gets every answer), flushes stdout and
 * returns. A request the client cancelled (notifications/cancelled) is not waited for: it gets no answer.
 */
export async function runMcpStdio(target: McpTarget, opts: McpOptions = {}): Promise<void> {
  const input = process.stdin;
  const output = process.stdout;
  // Anything a dependency prints with console.log/info/debug would corrupt the protocol stream.
  console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);
  const transport: Transport = new StdioServerTransport(input, output);
  /** Requests received and not answered yet. */
  const pending = new Set<RequestId>();
  let inputEnded = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const settle = () => {
    if (inputEnded && pending.size === 0) finish();
  };
  transport.onclose = finish;
  const ended = () => {
    inputEnded = true;
    settle();
  };
  input.once('end', ended);
  input.once('close', ended);
  const server = await connectMcpServer(target, transport, opts);

  const receive = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if ('method' in message && 'id' in message) pending.add(message.id);
    if ('method' in message && message.method === 'notifications/cancelled' && !('id' in message)) {
      const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (requestId !== undefined && pending.delete(requestId)) queueMicrotask(settle);
    }
    receive?.call(transport, message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = (message: JSONRPCMessage, options) => {
    const sent = send(message, options);
    // written to stdout's buffer (flushed below): the send itself may wait for a 'drain' that never comes once the reader has gone
    if (!('method' in message) && 'id' in message && message.id !== undefined && pending.delete(message.id)) settle();
    return sent;
  };

  await finished;
  await server.close();
  await flushed(output);
}

/** Resolves once everything written to the stream so far has been handed to the system (or it has failed or closed). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  // nothing buffered: everything written has been handed to the system (or dropped, once the reader has gone)
  if (stream.writableLength === 0 || stream.destroyed || stream.writableEnded || stream.errored) return Promise.resolve();
  return new Promise<void>((resolve) => {
    // a reader that has gone (EPIPE) turns writes into no-ops that never call back: do not wait for it forever
    const timer = setTimeout(() => done(), 5_000);
    const done = () => {
      clearTimeout(timer);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.once('close', done);
    stream.once('error', done);
    stream.write('', () => done());
  });
}
