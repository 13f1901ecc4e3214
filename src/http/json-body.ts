/**
 * The JSON body parser: Fastify's own (prototype-poisoning keys refused), after a strict UTF-8 decode, so
 * that bytes that are not UTF-8 are refused with a message instead of becoming U+FFFD in a stored tag or
 * query; and a refused `__proto__` / `constructor.prototype` key is named, not reported as "not valid JSON".
 */
import type { FastifyInstance } from 'fastify';

const utf8 = new TextDecoder('utf-8', { fatal: true });

const badRequest = (message: string) => Object.assign(new Error(message), { statusCode: 400 });

export function useStrictJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
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
