/**
 * Every error answer of the HTTP server is JSON `{detail}` with the right status: the service's errors,
 * Fastify's own (body parsing, static files, bad URLs, over-long path parameters) and the errors Node answers
 * before a request reaches Fastify (header overflow 431, request timeout 408, malformed requests 400).
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError, DiskFullError, EmbeddingError, ForbiddenError, NotFoundError, TooManyEmbedFailures, ValidationError } from '../service/index.js';
import type { Logger } from '../log.js';
import { UNSUPPORTED_ENCODING } from './json-body.js';

const pathOf = (req: FastifyRequest) => req.url.split('?')[0]!;

/**
 * The status of an error the service threw (500: none of its errors, a fault of Doctor's); also for the
 * error line of a streamed operation (http/portable.ts).
 */
export function errorStatus(e: unknown): number {
  if (e instanceof ValidationError) return 422;
  if (e instanceof NotFoundError) return 404;
  if (e instanceof ConflictError) return 409;
  if (e instanceof ForbiddenError) return 403;
  // the embeddings API Doctor calls failed (its message names the API and the settings to check)
  if (e instanceof EmbeddingError || e instanceof TooManyEmbedFailures) return 502;
  // the disk holding the database is full (the message says what to do); what was stored is kept
  if (e instanceof DiskFullError) return 507;
  return 500;
}

/** The reply for an error thrown by a route (or by Fastify while handling it). */
export function sendError(log: Logger, req: FastifyRequest, reply: FastifyReply, err: FastifyError | Error, bodyLimit: number) {
  const status = errorStatus(err);
  if (status !== 500) return reply.code(status).send({ detail: err.message });
  const fe = err as FastifyError;
  if (fe.statusCode === 413) {
    return reply.code(413).send({ detail: `request body larger than ${bodyLimit} bytes: send less (for example fewer page_ids per request)` });
  }
  if (fe.statusCode === 415 && fe.code !== UNSUPPORTED_ENCODING) {
    const type = req.headers['content-type'] ?? 'none';
    return reply.code(415).send({ detail: `send the request body as JSON with the header Content-Type: application/json (got ${type})` });
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError) {
    return reply.code(400).send({ detail: `${fe.message}: send a valid JSON object` });
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    const detail = fe.statusCode === 403 ? `${fe.message}: ${pathOf(req)} is outside what this server serves` : fe.message;
    return reply.code(fe.statusCode).send({ detail });
  }
  log.error({ err: err.message, stack: err.stack, url: req.url }, 'request failed');
  return reply.code(500).send({ detail: `internal error: ${err.message}` });
}

/** Fastify's router errors: a URL that does not decode (400) and a path parameter over the length limit (414). */
export function frameworkError(maxParamLength: number) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      return reply.code(414).send({ detail: `a part of the path is longer than ${maxParamLength} characters: ids are at most 200` });
    }
    if (err.code === 'FST_ERR_BAD_URL') {
      return reply.code(400).send({ detail: `the path ${JSON.stringify(req.raw.url?.split('?')[0]?.slice(0, 200))} is not valid percent-encoding: encode "%" as %25` });
    }
    return reply.code(err.statusCode ?? 400).send({ detail: err.message });
  };
}

/**
 * Errors Node's HTTP parser answers before Fastify sees a request. Written to the socket by hand, as Node
 * does, but as JSON `{detail}`.
 */
export function clientErrorHandler(limits: { maxHeaderBytes: number; headersTimeoutMs: number; requestTimeoutMs: number }) {
  return (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let status = 400;
    let detail = `malformed HTTP request (${err.code ?? err.message})`;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      detail = `the request was not received in time (headers within ${limits.headersTimeoutMs / 1000} s, the whole request within ${limits.requestTimeoutMs / 1000} s): send it again, all at once`;
    } else if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      detail = `the request line and headers are larger than ${limits.maxHeaderBytes / 1024} KiB: send a shorter query string (search_docs also takes its inputs as a JSON body: POST /search_docs) or fewer headers`;
    }
    const body = JSON.stringify({ detail });
    const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[status];
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(err);
  };
}
