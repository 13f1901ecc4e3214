/** MCP over stdio (`doctor mcp`): stdout carries only the protocol; logs go to stderr. */
import { Transform, type TransformCallback } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { connectMcpServer, type McpOptions } from './server.js';
import { invalidParamsAnswer } from './limits.js';
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
  // Lines that are no JSON-RPC message are answered here: the SDK's transport drops them without a word (a request
  // whose params are not an object waited for its answer forever), and closes for good on a line over 10 MiB.
  const messages = input.pipe(new MessageLines((answer) => void transport.send(answer).catch(() => {})));
  const transport: Transport = new StdioServerTransport(messages, output);
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
  // the end of what the filter passes on, which comes after its last message
  messages.once('end', ended);
  input.once('close', () => messages.end());
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

/** Longest line passed to the SDK's transport, whose buffer holds at most STDIO_DEFAULT_MAX_BUFFER_SIZE bytes. */
const MAX_LINE_BYTES = STDIO_DEFAULT_MAX_BUFFER_SIZE - 1;

const rpcError = (id: RequestId | null, code: number, message: string) => ({ jsonrpc: '2.0', id, error: { code, message } }) as unknown as JSONRPCMessage;

/**
 * stdin's lines, each one a JSON-RPC message passed on as it came; any other line is answered with `answer` and
 * left out: not JSON (-32700), a tools/call whose params are not an object (-32602, as over HTTP), another
 * object that is not a message (-32600, with its id when it has one), a line over 10 MiB (-32600; its bytes
 * are dropped as they come, not held).
 */
class MessageLines extends Transform {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private skipping = false;

  constructor(private readonly answer: (message: JSONRPCMessage) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let at = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, at)) {
      this.hold(chunk.subarray(at, nl));
      this.endLine();
      at = nl + 1;
    }
    this.hold(chunk.subarray(at));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.heldBytes || this.skipping) this.endLine();
    done();
  }

  private hold(part: Buffer): void {
    if (this.skipping || !part.length) return;
    if (this.heldBytes + part.length > MAX_LINE_BYTES) {
      this.held = [];
      this.heldBytes = 0;
      this.skipping = true;
      return;
    }
    this.held.push(part);
    this.heldBytes += part.length;
  }

  private endLine(): void {
    const text = Buffer.concat(this.held).toString('utf8');
    const skipped = this.skipping;
    this.held = [];
    this.heldBytes = 0;
    this.skipping = false;
    if (skipped) {
      return this.answer(rpcError(null, ErrorCode.InvalidRequest, `a message longer than ${MAX_LINE_BYTES + 1} bytes was dropped: send less per message (shorter tool arguments)`));
    }
    if (!text.trim()) return;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return this.answer(rpcError(null, ErrorCode.ParseError, 'Parse error: a line that is not JSON: send one JSON-RPC message per line, as UTF-8 JSON'));
    }
    if (JSONRPCMessageSchema.safeParse(body).success) {
      this.push(`${text}\n`);
      return;
    }
    const invalid = invalidParamsAnswer(body);
    if (invalid) return this.answer(invalid);
    const id = typeof body === 'object' && body !== null && 'id' in body ? (body as { id: unknown }).id : undefined;
    const known = typeof id === 'string' || typeof id === 'number' ? id : null;
    this.answer(
      rpcError(
        known,
        ErrorCode.InvalidRequest,
        'Invalid Request: not a JSON-RPC 2.0 message; send an object such as {"jsonrpc": "2.0", "id": 1, "method": "tools/list"} ' +
          '(id a string or number; a notification has no id; one message per line, no batches)',
      ),
    );
  }
}
