import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NacosError } from '../../api/nacos/nacos-params.js';
import { CairnError } from '../../errors.js';

/**
 * How the federation's Nacos scope reads and answers, as the zone's Nacos API does
 * (api/nacos/nacos-plugin.ts, whose versions are bound to a zone replica): parameters from the
 * query string or a form body, answers as Nacos writes them, refusals as plain text.
 */

/** Nacos answers writes (and refusals) as text. */
export function sendText(reply: FastifyReply, text: string, status = 200): FastifyReply {
  return reply.status(status).type('text/plain;charset=UTF-8').send(text);
}

/** A JSON answer already serialized (doubles written as Java does, see api/nacos/nacos-json.ts). */
export function sendJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.status(200).type('application/json;charset=UTF-8').send(json);
}

/**
 * Form bodies become URLSearchParams (merged with the query string by NacosParams); any other body
 * is read within the body limit and ignored, as a servlet ignores a body it does not parse. Call on
 * an encapsulated scope only: it replaces the scope's parsers.
 */
export function installNacosParsing(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, new URLSearchParams(body as string));
  });
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, undefined));
}

/** Refusals as plain text; the status follows the refusal. */
export function nacosErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof NacosError) {
    void sendText(reply, err.message, err.status);
    return;
  }
  if (err instanceof CairnError) {
    if (err.code === 'INTERNAL') req.log.error({ err }, 'federation nacos request failed');
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
  req.log.error({ err }, 'federation nacos request failed');
  void sendText(reply, 'caused: internal error;', 500);
}
