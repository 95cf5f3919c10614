import type { FastifyRequest } from 'fastify';

/**
 * What each native route needs from an authorization layer. Every route declares, in its fastify
 * route config (`config.access`), the resource kind it touches and the action it performs; once its
 * input has been parsed, the request carries the concrete namespaces it touches (`request.cairnAccess`).
 *
 * Authentication and per-namespace authorization can therefore be added as one plugin, in either of
 * two ways, without touching any route:
 * - pass an `authorize` function to `createNativeApi` (it runs after parsing, before every handler);
 * - or add a root-level `preHandler` hook: it runs after this plugin's `preValidation` hook has parsed
 *   the input, and reads `request.routeOptions.config.access` and `request.cairnAccess`.
 */

/** `read` reads registry state; `write` changes instances or services; `admin` manages namespaces. */
export type AccessAction = 'read' | 'write' | 'admin';

export type AccessResource = 'instance' | 'service' | 'namespace' | 'cluster' | 'zone' | 'docs';

/** Declared once per route, statically. */
export interface RouteAccess {
  readonly resource: AccessResource;
  readonly action: AccessAction;
  /** True for routes anyone may call (the API description); an authorizer should let them through. */
  readonly public: boolean;
}

/** Resolved per request, from the validated input. */
export interface ResolvedAccess extends RouteAccess {
  /** The namespaces the request touches; `'*'` when it spans all of them (listing namespaces). */
  readonly namespaces: readonly string[];
  readonly operationId: string;
}

/** Throws a CairnError (UNAUTHENTICATED or FORBIDDEN) to refuse the request. */
export type Authorizer = (request: FastifyRequest, access: ResolvedAccess) => Promise<void> | void;

/** Every namespace, for routes that span them all. */
export const ALL_NAMESPACES = '*';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs from an authorization layer (native API routes declare it). */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The resolved access of a native API request, set once its input is parsed (null elsewhere). */
    cairnAccess?: ResolvedAccess | null;
  }
}
