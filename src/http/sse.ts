/**
 * Server-Sent Events responses (text/event-stream). Each stream sends a comment every 15 s so idle
 * connections are not cut by proxies, stops when the client goes away, and is ended when the server
 * closes (an open browser tab must not keep `doctor serve` from stopping).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface EventStream {
  send(event: string, data: unknown): void;
  end(): void;
  /** Called once when the stream ends, whoever ends it. */
  onEnd(fn: () => void): void;
}

const HEARTBEAT_MS = 15_000;

export function eventStreams(app: FastifyInstance): (req: FastifyRequest, reply: FastifyReply) => EventStream {
  const open = new Set<EventStream>();
  app.addHook('preClose', async () => {
    for (const s of [...open]) s.end();
  });
  return (_req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    const enders: (() => void)[] = [];
    let ended = false;
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const stream: EventStream = {
      send(event, data) {
        if (!ended) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      end() {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        open.delete(stream);
        for (const fn of enders) fn();
        res.end();
      },
      onEnd(fn) {
        enders.push(fn);
      },
    };
    open.add(stream);
    res.on('close', () => stream.end());
    return stream;
  };
}
