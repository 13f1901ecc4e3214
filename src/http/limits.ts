/**
 * How long the HTTP server waits for a client, chosen for a local service: a request on loopback arrives in
 * milliseconds, so a client that announces a body and never sends it, or never finishes its headers, is
 * cut off within seconds instead of holding a connection for minutes (Fastify's defaults: no request
 * timeout, 72 s keep-alive; Node checks timeouts only every 30 s).
 *
 * These bound *receiving* a request. Answers that legitimately stream for a long time (the MCP SSE stream,
 * a Streamable HTTP POST answered as an event stream, fetch_url with wait) are not affected: their request
 * was received in full at the start.
 */
import { maxHeaderSize } from 'node:http';

export interface HttpTimeouts {
  /** The request line and headers must arrive within this (ms). */
  headersMs: number;
  /** The whole request, body included, must arrive within this (ms). */
  requestMs: number;
  /** An idle kept-alive connection is closed after this (ms). */
  keepAliveMs: number;
  /** How often Node checks the two limits above (ms); they can overrun by up to this much. */
  checkIntervalMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = {
  headersMs: 10_000,
  requestMs: 30_000,
  keepAliveMs: 5_000,
  checkIntervalMs: 1_000,
};

/**
 * Largest request head the server accepts (larger ones get 431): 32 KiB, or Node's own limit if raised
 * higher (--max-http-header-size). Room for the longest query string (DEFAULT_MAX_QUERY_LENGTH) and headers.
 */
export const MAX_HEADER_BYTES = Math.max(maxHeaderSize, 32 * 1024);

/** The Fastify constructor options that apply the timeouts. */
export function timeoutOptions(t: HttpTimeouts) {
  return {
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    http: { headersTimeout: Math.min(t.headersMs, t.requestMs), connectionsCheckingInterval: t.checkIntervalMs, maxHeaderSize: MAX_HEADER_BYTES },
  };
}
