import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { CairnError } from '../errors.js';
import { closeAfterAnswer } from './limits/upgrade-guard.js';

/**
 * The one place errors become HTTP answers: a CairnError keeps its code and status; a zod error is
 * VALIDATION_FAILED naming each bad field; fastify's own refusals (body too large, bad JSON) get
 * stable codes; anything else is INTERNAL, logged, and answered without internals.
 */
export function toHttpError(err: unknown): CairnError {
  if (err instanceof CairnError) return err;
  if (err instanceof ZodError) {
    return new CairnError(
      'VALIDATION_FAILED',
      'the request is not valid',
      err.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })),
    );
  }
  const fe = err as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new CairnError('PAYLOAD_TOO_LARGE', 'the request body is too large');
  if (fe.statusCode === 415 || fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new CairnError('VALIDATION_FAILED', 'unsupported content type; send application/json');
  }
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new CairnError('VALIDATION_FAILED', fe.message ?? 'bad request');
  }
  return new CairnError('INTERNAL', 'internal error');
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const e = toHttpError(err);
    if (e.code === 'INTERNAL') req.log.error({ err }, 'unhandled error');
    void reply.status(e.httpStatus).send(e.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new CairnError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    void reply.status(404).send(e.toJSON());
  });
}

/**
 * fastify's `frameworkErrors` option: the router's own refusals (a URL that does not decode, a path
 * parameter over maxParamLength) are answered before any plugin's error handler; in cairn's format too.
 */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  closeAfterAnswer(req, reply);
  const e =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new CairnError('VALIDATION_FAILED', 'a path segment is longer than this server reads (512 characters)')
      : err.code === 'FST_ERR_BAD_URL'
        ? new CairnError('VALIDATION_FAILED', 'the URL is not valid (bad percent-encoding)')
        : toHttpError(err);
  void reply.status(e.httpStatus).send(e.toJSON());
}
