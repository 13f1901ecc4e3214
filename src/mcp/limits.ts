/**
 * Bounds and checks on MCP traffic that the SDK leaves open:
 * - a JSON-RPC batch carries at most MAX_BATCH_MESSAGES messages (the SDK allows 100; 100 search_docs calls
 *   with whole pages each once made a 1.6 GB answer), and each search_docs answer is itself bounded
 *   (MAX_FULL_TEXT_CHARS in src/search/search-docs.ts);
 * - `tools/call` whose params or `arguments` are not objects is answered with -32602 (invalid params) and a
 *   readable message, not the SDK's -32603 with a raw validation dump;
 * - arguments a tool refuses are answered with the service's own message (the value shown, one message per
 *   field), not the SDK's.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ClientRequestSchema, ErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';

/** Most messages in one JSON-RPC batch (one HTTP POST); larger batches get -32600 with HTTP 400. */
export const MAX_BATCH_MESSAGES = 10;

/** Why a batch is refused, or undefined when the body is a single message or a small enough batch. */
export function batchProblem(body: unknown): string | undefined {
  if (!Array.isArray(body) || body.length <= MAX_BATCH_MESSAGES) return undefined;
  return `a JSON-RPC batch of ${body.length} messages is over the limit of ${MAX_BATCH_MESSAGES} per request: send the rest in further requests`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);

/** Names of each tool's required inputs: a call that leaves out `arguments` altogether is refused for these. */
export type RequiredInputs = Readonly<Record<string, readonly string[]>>;

/** The problem with a tools/call request's params, if it has one the SDK would answer badly (-32603, raw dump). */
export function toolCallProblem(message: JSONRPCMessage, required: RequiredInputs = {}): string | undefined {
  if (!('method' in message) || message.method !== 'tools/call' || !('id' in message)) return undefined;
  const params = (message as { params?: unknown }).params;
  if (!isPlainObject(params)) return `tools/call needs params {name, arguments}: params is ${params === undefined ? 'missing' : kindOf(params)}`;
  if (typeof params.name !== 'string' || !params.name) return 'tools/call needs params.name: the name of the tool (see tools/list)';
  if (params.arguments === undefined) {
    // Tools without required inputs may be called without arguments (the MCP schema makes them optional).
    const needs = required[params.name] ?? [];
    return needs.length ? `arguments of ${params.name} are missing: give an object with at least ${needs.join(', ')}` : undefined;
  }
  if (!isPlainObject(params.arguments)) {
    return `arguments of ${params.name} must be an object of named inputs (got ${kindOf(params.arguments)}); see the tool's inputSchema in tools/list`;
  }
  return undefined;
}

/**
 * The JSON-RPC error answering one tools/call message (not a batch) whose params are unusable, or undefined.
 * Only the problems the SDK cannot answer itself with the request's id (params not an object) are handled
 * here; the rest go through the transport to guardToolCalls.
 */
export function invalidParamsAnswer(body: unknown): JSONRPCMessage | undefined {
  if (!isPlainObject(body) || body.method !== 'tools/call' || !('id' in body) || isPlainObject(body.params)) return undefined;
  const id = body.id;
  if (typeof id !== 'string' && typeof id !== 'number') return undefined;
  const problem = toolCallProblem(body as JSONRPCMessage);
  return problem ? { jsonrpc: '2.0', id, error: { code: ErrorCode.InvalidParams, message: problem } } : undefined;
}

/**
 * The SDK's schema of each request a client may send, by method (read from its union of request schemas; empty,
 * so that the SDK checks params itself, should a later SDK build that union another way).
 */
const REQUEST_SCHEMAS = new Map<string, z.ZodType>(
  ((ClientRequestSchema as unknown as { options?: { shape?: { method?: { value?: unknown } } }[] }).options ?? []).flatMap((o) =>
    typeof o.shape?.method?.value === 'string' ? [[o.shape.method.value, o as unknown as z.ZodType] as const] : [],
  ),
);

/**
 * Why a request's params do not fit its method (tools/list with a numeric cursor, initialize without clientInfo),
 * or undefined. The SDK answers those with -32603 "internal error" and a dump of zod's issues as the message.
 */
export function protocolParamsProblem(message: JSONRPCMessage): string | undefined {
  if (!('method' in message) || !('id' in message)) return undefined;
  const schema = REQUEST_SCHEMAS.get(message.method);
  const r = schema?.safeParse(message);
  if (!r || r.success) return undefined;
  const issues = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || 'the request'}: ${i.message.replace(/^Invalid input: /, '')}`);
  return `invalid params for ${message.method}: ${issues.join('; ')} (see the params of ${message.method} in the MCP specification)`;
}

/** Per tool: what is wrong with a call's arguments, or undefined when they are good. */
export type ToolInputChecks = Readonly<Record<string, (args: Record<string, unknown>) => string | undefined>>;

/**
 * What is wrong with a well-formed tools/call's arguments by the tool's own check, or undefined. The answer is
 * a tool result with isError, as the SDK answers arguments its schema refuses, so the model can correct its call.
 */
function argumentsProblem(message: JSONRPCMessage, checks: ToolInputChecks): string | undefined {
  if (!('method' in message) || message.method !== 'tools/call' || !('id' in message)) return undefined;
  // toolCallProblem has passed it: params is an object with a name, arguments an object or left out
  const { name, arguments: args } = message.params as { name: string; arguments?: Record<string, unknown> };
  const problem = Object.hasOwn(checks, name) ? checks[name]!(args ?? {}) : undefined;
  return problem && `Input validation error: Invalid arguments for tool ${name}: ${problem}`;
}

/**
 * Answers malformed tools/call requests itself before the SDK sees them: params that are not objects with
 * -32602, arguments a tool's check refuses with an isError tool result. Call after `server.connect(transport)`,
 * which installs the handler this wraps.
 */
export function guardToolCalls(transport: Transport, required: RequiredInputs = {}, checks: ToolInputChecks = {}): void {
  const inner = transport.onmessage;
  if (!inner) return;
  transport.onmessage = (message, extra) => {
    const problem = toolCallProblem(message, required) ?? protocolParamsProblem(message);
    const refused = problem ? undefined : argumentsProblem(message, checks);
    if (!problem && !refused) return inner.call(transport, message, extra);
    const id = (message as { id: string | number }).id;
    const answer: JSONRPCMessage = problem
      ? { jsonrpc: '2.0', id, error: { code: ErrorCode.InvalidParams, message: problem } }
      : { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: refused! }], isError: true } };
    void transport.send(answer, { relatedRequestId: id }).catch((e: unknown) => transport.onerror?.(e as Error));
  };
}
