import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ServerConfig } from '../../config/server-config.js';
import type { ErrorCode } from '../../errors.js';
import type { ZoneRegistry } from '../../registry/zone-registry.js';
import type { RegistryQuota } from '../limits/registry-quota.js';
import type { HttpMethod, OperationDoc } from '../openapi/openapi-document.js';
import type { RouteAccess } from './access-control.js';
import type { LongPollGate } from './long-poll.js';

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** A request's parsed parts; a part the route does not declare is undefined. */
export interface RouteInput<P, Q, B> {
  readonly params: Parsed<P>;
  readonly query: Parsed<Q>;
  readonly body: Parsed<B>;
}

/** What a handler works with besides its input. */
export interface NativeContext {
  readonly registry: ZoneRegistry;
  readonly config: ServerConfig;
  readonly longPolls: LongPollGate;
  /** Size bounds a write is checked against before it is proposed. */
  readonly quota: RegistryQuota;
}

export interface HandlerContext extends NativeContext {
  readonly req: FastifyRequest;
  readonly reply: FastifyReply;
}

/**
 * One native API route: its contract (zod schemas, which also generate its OpenAPI operation), the
 * access it needs, and its handler. Handlers receive parsed input only; they answer with a JSON
 * object carrying the registry `revision`, or throw a CairnError.
 */
export interface NativeRoute<
  P extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends z.ZodType | undefined = z.ZodType | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
  R extends z.ZodType = z.ZodType,
> {
  readonly method: HttpMethod;
  readonly url: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly response: R;
  readonly successStatus?: number;
  readonly errors: readonly ErrorCode[];
  readonly access: RouteAccess;
  /** A tighter body limit than the server's, for routes whose legal bodies are small. */
  readonly bodyLimitBytes?: number;
  /** The namespaces a request touches, from its parsed input (for authorization). */
  namespaces(input: RouteInput<P, Q, B>): readonly string[];
  handler(input: RouteInput<P, Q, B>, ctx: HandlerContext): Promise<z.output<R>>;
}

/** Declares a route; the generic parameters are inferred from the schemas, so handlers are typed. */
export function defineRoute<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends z.ZodType = z.ZodType,
>(route: NativeRoute<P, Q, B, R>): NativeRoute {
  return route as unknown as NativeRoute;
}

/** Errors every route can answer with. */
export const COMMON_ERRORS: readonly ErrorCode[] = ['VALIDATION_FAILED', 'INTERNAL'];
/** Errors of routes that commit through Raft. */
export const WRITE_ERRORS: readonly ErrorCode[] = [
  ...COMMON_ERRORS,
  'PAYLOAD_TOO_LARGE',
  'LIMIT_EXCEEDED',
  'RATE_LIMITED',
  'NO_LEADER',
  'UNAVAILABLE',
  'TIMEOUT',
];
/** Errors of reads (a consistent read needs the leader). */
export const READ_ERRORS: readonly ErrorCode[] = [...COMMON_ERRORS, 'NO_LEADER', 'TIMEOUT'];

/** Waits for a linearizable read point when the caller asked for one. */
export async function readPoint(registry: ZoneRegistry, consistent: boolean | undefined): Promise<void> {
  if (consistent) await registry.barrier();
}

/** The OpenAPI description of a route. */
export function operationDocOf(route: NativeRoute): OperationDoc {
  return {
    method: route.method,
    url: route.url,
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tag: route.tag,
    ...(route.params ? { params: route.params } : {}),
    ...(route.query ? { query: route.query } : {}),
    ...(route.body ? { body: route.body } : {}),
    response: route.response,
    successStatus: route.successStatus ?? 200,
    errors: route.errors,
    extensions: { 'x-cairn-access': route.access },
  };
}
