import type { FastifyRequest } from 'fastify';
import { SESSION_PATH, WATCH_PATH } from '../protocol/protocol-version.js';
import { DEFAULT_NAMESPACE } from '../registry/model.js';
import type { AuthSurface } from './auth-refusals.js';
import { ANY_NAMESPACE, type RoleName } from './roles.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How the auth plugin treats a route that declares no `access`: `open` to anyone, or `self`
     * (the route authorizes in its own handlers or per socket message, through the AuthGuard).
     */
    auth?: 'open' | 'self';
  }
}

/** What the auth plugin does with one route. */
export type RouteRule =
  | { readonly kind: 'open' }
  /** The surface checks for itself (Nacos handlers, push sockets); the plugin only resolves identities. */
  | { readonly kind: 'self' }
  | {
      readonly kind: 'check';
      readonly surface: AuthSurface;
      readonly action: RoleName;
      /** Read when the check runs (after the route's own parsing), so parsed input may be used. */
      namespaces(req: FastifyRequest): readonly string[];
    };

const OPEN: RouteRule = { kind: 'open' };
const SELF: RouteRule = { kind: 'self' };
const everywhere = (): readonly string[] => [ANY_NAMESPACE];

/**
 * Liveness, readiness and the Raft status (open, as Consul's /v1/status and etcd's member list are),
 * the API description, and `/` (a redirect to the admin UI).
 */
const OPEN_PATHS = new Set(['/', '/healthz', '/readyz', '/v1/cluster', '/docs', '/openapi.json', '/favicon.ico']);
/** Replica-to-replica routes, authenticated by the cluster secret instead. */
const PEER_PREFIXES = ['/raft/', '/internal/'];
const NACOS_LOGIN = new Set(['/nacos/v1/auth/login', '/nacos/v1/auth/users/login']);

/**
 * Decides how a route is protected, most specific first:
 * 1. a native-style declaration (`config.access`): public routes are open, the rest need the
 *    declared action on the namespaces the route resolved from its input (`request.cairnAccess`);
 * 2. `config.auth` (`open` or `self`);
 * 3. known paths: health, docs, peer links, the admin UI's files, logins, `/metrics` (open unless
 *    the auth file says `metricsAuth`), and the federation's routes (reads need `read`; zone
 *    actions it forwards are decided by the zone, with the caller's token);
 * 4. anything else: GET needs `read` and other methods `admin`, on every namespace (closed by
 *    default, so a route nobody classified is never open by accident).
 */
export function ruleOf(req: FastifyRequest, opts: { readonly metricsAuth: boolean }): RouteRule {
  const route = req.routeOptions;
  const url = route.url;
  if (url === undefined) return OPEN; // no route: the answer is a 404
  const access = route.config.access;
  if (access) {
    if (access.public) return OPEN;
    const surface: AuthSurface = access.resource === 'cluster' || access.resource === 'zone' ? 'cluster' : 'native';
    return {
      kind: 'check',
      surface,
      action: access.action,
      namespaces: (r) => r.cairnAccess?.namespaces ?? [ANY_NAMESPACE],
    };
  }
  if (route.config.auth === 'open') return OPEN;
  if (route.config.auth === 'self') return SELF;
  if (OPEN_PATHS.has(url) || PEER_PREFIXES.some((p) => url.startsWith(p))) return OPEN;
  if (url === '/ui' || url.startsWith('/ui/')) return OPEN; // the admin UI's files; its actions use the API
  if (url === '/metrics') {
    return opts.metricsAuth ? { kind: 'check', surface: 'metrics', action: 'read', namespaces: everywhere } : OPEN;
  }
  if (NACOS_LOGIN.has(url)) return OPEN;
  const method = req.method;
  const reading = method === 'GET' || method === 'HEAD';
  if (url.startsWith('/nacos/v1/console/') || url.startsWith('/nacos/v1/ns/operator/')) {
    // Namespaces and server state span every namespace.
    return { kind: 'check', surface: 'nacos', action: reading ? 'read' : 'admin', namespaces: everywhere };
  }
  if (url.startsWith('/nacos/')) {
    return {
      kind: 'check',
      surface: 'nacos',
      action: reading ? 'read' : 'write',
      namespaces: (r) => [nacosNamespaceOf(r)],
    };
  }
  if (url === WATCH_PATH) return { kind: 'check', surface: 'watch', action: 'read', namespaces: everywhere };
  if (url === SESSION_PATH) return { kind: 'check', surface: 'session', action: 'admin', namespaces: everywhere };
  // The federation's REST routes (see federation-brief: reads; zone actions forwarded with the caller's token).
  if (url === '/v1/services' && reading) {
    return {
      kind: 'check',
      surface: 'rest',
      action: 'read',
      namespaces: (r) => [queryParam(r, 'namespace') ?? ANY_NAMESPACE],
    };
  }
  if (url === '/v1/services/:namespace/:group/:service' && reading) {
    return {
      kind: 'check',
      surface: 'rest',
      action: 'read',
      namespaces: (r) => [pathParam(r, 'namespace') ?? ANY_NAMESPACE],
    };
  }
  if (!reading && url.startsWith('/v1/zones/:zone/')) return OPEN; // forwarded: the zone decides
  return { kind: 'check', surface: 'rest', action: reading ? 'read' : 'admin', namespaces: everywhere };
}

/**
 * Nacos's `namespaceId` as Nacos handlers read it (NacosParams): the first value, the query string
 * before a form body; blank is the public namespace.
 */
function nacosNamespaceOf(req: FastifyRequest): string {
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  const fromQuery = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '').get('namespaceId');
  const fromBody = req.body instanceof URLSearchParams ? req.body.get('namespaceId') : null;
  const v = (fromQuery ?? fromBody ?? '').trim();
  return v === '' ? DEFAULT_NAMESPACE : v;
}

/** A single-valued query parameter; a repeated one reads as absent (so the check spans everything). */
function queryParam(req: FastifyRequest, name: string): string | undefined {
  const q = req.query as Record<string, unknown> | undefined;
  const v = q?.[name];
  if (Array.isArray(v)) return ANY_NAMESPACE;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function pathParam(req: FastifyRequest, name: string): string | undefined {
  const p = req.params as Record<string, unknown> | undefined;
  const v = p?.[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}
