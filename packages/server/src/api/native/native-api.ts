import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { CairnError, type FieldError } from '../../errors.js';
import type { ApiPlugin } from '../../server/zone-server.js';
import { VERSION } from '../../version.js';
import { quotaOf } from '../limits/registry-quota.js';
import { serverLimitsOf } from '../limits/server-limits.js';
import { buildOpenApiDocument, type OpenApiDocument } from '../openapi/openapi-document.js';
import { registerOpenApiRoutes } from '../openapi/openapi-routes.js';
import type { Authorizer, RouteAccess } from './access-control.js';
import { CLUSTER_ROUTES } from './cluster-routes.js';
import { INSTANCE_ROUTES } from './instance-routes.js';
import { LongPollGate } from './long-poll.js';
import { NAMESPACE_ROUTES } from './namespace-routes.js';
import { type NativeContext, type NativeRoute, operationDocOf, type RouteInput } from './native-route.js';
import { NATIVE_COMPONENTS } from './native-schemas.js';
import { SERVICE_ROUTES } from './service-routes.js';

/**
 * The native REST API under /v1, and its OpenAPI document at /openapi.json (readable at /docs).
 *
 * The request path of every route: fastify parses JSON (bounded by the server's body limit, or the
 * route's tighter one) -> `preValidation` parses params, query and body with the route's zod schemas
 * (VALIDATION_FAILED listing every bad field) and resolves the access the request needs ->
 * `preHandler` runs the authorizer, if one is configured -> the handler, which writes through
 * `registry.execute` (forwarded to the leader) or reads the applied state (after a ReadIndex barrier
 * when `consistent=true`). Every answer carries the revision it reflects, in the body and in the
 * X-Cairn-Revision header; every refusal is a CairnError rendered by the shared error handler.
 */

export const REVISION_HEADER = 'x-cairn-revision';

/** Every native route, in documentation order. */
export const NATIVE_ROUTES: readonly NativeRoute[] = [
  ...INSTANCE_ROUTES,
  ...SERVICE_ROUTES,
  ...NAMESPACE_ROUTES,
  ...CLUSTER_ROUTES,
];

export interface NativeApiOptions {
  /** Runs before every route's handler with the resolved access; throws to refuse. */
  readonly authorize?: Authorizer;
  /** Long-polls held at once on this replica (default: the server's long-polls-max); more are refused with RATE_LIMITED. */
  readonly longPollsMax?: number;
}

const PUBLIC_DOCS: RouteAccess = { resource: 'docs', action: 'read', public: true };

export function nativeOpenApiDocument(): OpenApiDocument {
  return buildOpenApiDocument(
    {
      title: 'cairn native API',
      version: VERSION,
      description:
        'The zone registry of cairn: register instances and keep them alive with heartbeats, read services with ' +
        'their instances (optionally long-polling for changes), manage services and namespaces. Every answer ' +
        'carries the registry `revision` (the Raft index it reflects). Writes sent to any replica are forwarded ' +
        'to the leader. Reads come from the replica you ask unless `consistent=true`. Refusals carry a stable ' +
        '`code` and a `message`.',
      tags: [
        { name: 'instances', description: 'Register, update, deregister, renew and read instances.' },
        { name: 'services', description: 'List and read services (with long-poll); create, update and delete them.' },
        { name: 'namespaces', description: 'The top level of the registry: namespace > group > service.' },
      ],
      components: NATIVE_COMPONENTS,
    },
    NATIVE_ROUTES.map(operationDocOf),
  );
}

export function createNativeApi(options: NativeApiOptions = {}): ApiPlugin {
  return async (app, { registry, config }) => {
    const limits = serverLimitsOf(config);
    const longPolls = new LongPollGate(registry.hub, options.longPollsMax ?? limits.longPollsMax);
    const ctx: NativeContext = { registry, config, longPolls, quota: quotaOf(registry, limits) };
    // Held polls answer at once when the server closes, instead of holding the shutdown up.
    app.addHook('preClose', async () => longPolls.closeAll());
    app.decorateRequest('cairnAccess', null);
    app.addHook('onSend', async (_req, reply, payload) => {
      if (!reply.hasHeader(REVISION_HEADER)) reply.header(REVISION_HEADER, String(registry.revision));
      return payload;
    });
    for (const route of NATIVE_ROUTES) registerRoute(app, route, ctx, config.bodyLimitBytes, options.authorize);
    registerOpenApiRoutes(app, nativeOpenApiDocument(), { access: PUBLIC_DOCS });
  };
}

/** The native API as registered in a zone server. */
export const nativeApi: ApiPlugin = createNativeApi();

function registerRoute(
  app: FastifyInstance,
  route: NativeRoute,
  ctx: NativeContext,
  serverBodyLimitBytes: number,
  authorize: Authorizer | undefined,
): void {
  const inputs = new WeakMap<FastifyRequest, RouteInput<z.ZodType, z.ZodType, z.ZodType>>();
  app.route({
    method: route.method,
    url: route.url,
    ...(route.bodyLimitBytes ? { bodyLimit: Math.min(route.bodyLimitBytes, serverBodyLimitBytes) } : {}),
    config: { access: route.access },
    preValidation: async (req) => {
      const input = parseInput(route, req);
      inputs.set(req, input);
      req.cairnAccess = { ...route.access, operationId: route.operationId, namespaces: route.namespaces(input) };
    },
    ...(authorize
      ? {
          preHandler: async (req: FastifyRequest) => {
            if (!req.cairnAccess) throw new CairnError('INTERNAL', 'access not resolved before authorization');
            await authorize(req, req.cairnAccess);
          },
        }
      : {}),
    handler: async (req, reply) => {
      const input = inputs.get(req);
      if (!input) throw new CairnError('INTERNAL', 'input not parsed before the handler');
      const out = (await route.handler(input, { ...ctx, req, reply })) as { revision?: unknown };
      if (typeof out.revision === 'number') reply.header(REVISION_HEADER, String(out.revision));
      return reply.code(route.successStatus ?? 200).send(out);
    },
  });
}

/** Parses every declared part of a request; one VALIDATION_FAILED names every bad field of all parts. */
function parseInput(route: NativeRoute, req: FastifyRequest): RouteInput<z.ZodType, z.ZodType, z.ZodType> {
  const fields: FieldError[] = [];
  const part = (schema: z.ZodType | undefined, value: unknown, whole: string): unknown => {
    if (!schema) return undefined;
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    for (const issue of r.error.issues) {
      const at = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        // Name each unknown field, so `zone` or a misspelt `enable` is reported where it is.
        for (const k of issue.keys) fields.push({ field: at ? `${at}.${k}` : k, message: 'unknown field' });
      } else {
        fields.push({ field: at || whole, message: issue.message });
      }
    }
    return undefined;
  };
  const params = part(route.params, req.params, '(path)');
  const query = part(route.query, req.query, '(query)');
  const body = part(route.body, req.body, '(body)');
  if (fields.length > 0) {
    const shown = fields
      .slice(0, 3)
      .map((f) => `${f.field}: ${f.message}`)
      .join('; ');
    throw new CairnError(
      'VALIDATION_FAILED',
      `the request is not valid: ${shown}${fields.length > 3 ? `; and ${fields.length - 3} more` : ''}`,
      fields,
    );
  }
  return { params, query, body };
}
