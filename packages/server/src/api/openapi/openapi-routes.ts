import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import { DOCS_PAGE_CSP, renderDocsPage } from './docs-page.js';
import type { OpenApiDocument } from './openapi-document.js';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/**
 * Serves an OpenAPI document as JSON and as a readable page; both are rendered once. `config` is the
 * route config of both routes (the caller declares their access there).
 */
export function registerOpenApiRoutes(
  app: FastifyInstance,
  document: OpenApiDocument,
  config: FastifyContextConfig = {},
): void {
  const json = JSON.stringify(document);
  const html = renderDocsPage(document, OPENAPI_PATH);
  app.get(OPENAPI_PATH, { config }, async (_req, reply) =>
    reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(json),
  );
  app.get(DOCS_PATH, { config }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', DOCS_PAGE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache')
      .send(html),
  );
}
