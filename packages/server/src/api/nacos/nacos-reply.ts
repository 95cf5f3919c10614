import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CairnError } from '../../errors.js';
import { NacosError } from './nacos-params.js';

/**
 * How a Nacos scope reads and answers, on a zone replica and on a federation node alike: parameters
 * from the query string or a form body, answers as Nacos writes them, refusals as plain text.
 */

/** Nacos answers writes with the text `ok` (Spring's text/plain String), and refusals as text. */
export function sendText(reply: FastifyReply, text: string, status = 200): FastifyReply {
  return reply.status(status).type('text/plain;charset=UTF-8').send(text);
}

/** A JSON answer already serialized (see nacos-json.ts for why). */
export function sendJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.status(200).type('application/json;charset=UTF-8').send(json);
}

/**
 * Parsers for this scope only: form bodies become URLSearchParams (merged with the query string by
 * NacosParams); any other body is read within the body limit and ignored, as a servlet ignores a
 * body it does not parse into parameters (so a stray JSON body is never a 400 here). Call on an
 * encapsulated scope only: it replaces the scope's parsers.
 */
export function installNacosParsing(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, new URLSearchParams(body as string));
  });
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, undefined));
}

/** Nacos answers refusals as plain text; the status follows the refusal. Internal errors are logged as `logMessage`. */
export function nacosErrorHandler(logMessage: string) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply): void => {
    if (err instanceof NacosError) {
      void sendText(reply, err.message, err.status);
      return;
    }
    if (err instanceof CairnError) {
      if (err.code === 'INTERNAL') req.log.error({ err }, logMessage);
      // UNAUTHENTICATED and FORBIDDEN are both 403 in Nacos.
      void sendText(reply, err.message, err.code === 'UNAUTHENTICATED' ? 403 : err.httpStatus);
      return;
    }
    const fe = err as Partial<FastifyError>;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      void sendText(reply, 'the request body is too large', 413);
      return;
    }
    if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
      void sendText(reply, fe.message ?? 'bad request', fe.statusCode);
      return;
    }
    req.log.error({ err }, logMessage);
    void sendText(reply, 'caused: internal error;', 500);
  };
}
