/**
 * The JSON body parser: Fastify's own (prototype-poisoning keys refused), after a strict UTF-8 decode, so
 * that bytes that are not UTF-8 are refused with a message instead of becoming U+FFFD in a stored tag or
 * query; a refused `__proto__` / `constructor.prototype` key is named, not reported as "not valid JSON"; and a
 * compressed body (Content-Encoding gzip, br...) is refused with 415 saying to send it uncompressed.
 */
import type { FastifyInstance } from 'fastify';

const utf8 = new TextDecoder('utf-8', { fatal: true });

const badRequest = (message: string, statusCode = 400, code?: string) => Object.assign(new Error(message), { statusCode, code });

/** The code of the 415 for a compressed body, whose message (unlike other 415s) is not about Content-Type. */
export const UNSUPPORTED_ENCODING = 'DOCTOR_UNSUPPORTED_CONTENT_ENCODING';

export function useStrictJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    // A compressed body would otherwise be reported as "not valid UTF-8" (its bytes are gzip's, not text).
    const coding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (coding && coding !== 'identity') {
      return done(badRequest(`a body with Content-Encoding ${JSON.stringify(coding.slice(0, 50))} is not accepted: send the JSON uncompressed`, 415, UNSUPPORTED_ENCODING), undefined);
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(badRequest('the body is not valid UTF-8: send the JSON encoded as UTF-8 (characters outside it escaped as \\uXXXX if need be)'), undefined);
    }
    parse(req, text, (err, value) => {
      if (err && isPlainJson(text)) {
        return done(badRequest('the body holds a "__proto__" or "constructor": {"prototype": ...} key, which is refused: leave it out'), undefined);
      }
      done(err, value);
    });
  });
}

/** Whether the text is JSON that only the prototype-poisoning check refused. */
function isPlainJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
