import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CairnError } from '../../errors.js';
import type { ServerLimits } from './server-limits.js';

/**
 * Per-client rate limiting of writes, and a bound on the writes waiting for their commit, for every
 * API surface of a replica (one root plugin, registered before them).
 *
 * A write is a POST, PUT, PATCH or DELETE of the native API (/v1/...) or of the Nacos API
 * (/nacos/v1/ns/..., /nacos/v1/console/...). Heartbeats are not writes here: they are cheap (no log
 * entry) and a whole fleet behind one NAT address beats every few seconds, so throttling them would
 * expire healthy instances; a Nacos beat that re-registers a vanished instance does count (the Nacos
 * API asks `admit` itself). Logins are limited by the auth plugin; replica-to-replica routes are not
 * limited. Session sockets count each register and deregister (push API).
 *
 * The key is the client address (IPv6 by /64), counted in a fixed window by @fastify/rate-limit's
 * in-memory store on this replica; past the limit: 429 RATE_LIMITED with Retry-After.
 */
export interface WriteGuard {
  /** Counts one write of the client at `req.ip`; throws RATE_LIMITED past the rate (Retry-After on `reply`). */
  admit(req: FastifyRequest, reply?: FastifyReply): Promise<void>;
  /** Client writes on this replica waiting for their answer. */
  readonly inflight: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The replica's write guard (absent when the server runs without it). */
    cairnWriteGuard: WriteGuard | null;
  }
}

/** The write guard of a server, or null when none is registered (tests of a single plugin). */
export function writeGuardOf(app: FastifyInstance): WriteGuard | null {
  return app.hasDecorator('cairnWriteGuard') ? app.cairnWriteGuard : null;
}

/** Routes that are not client writes even though they use a write method. */
const NOT_WRITES = new Set(['/v1/instances/heartbeat', '/v1/instances/heartbeat/batch', '/nacos/v1/ns/instance/beat']);
const WRITE_PREFIXES = ['/v1/', '/nacos/v1/ns/', '/nacos/v1/console/'];
/** Addresses kept by the in-memory store (least recently used ones are forgotten beyond). */
const CLIENTS_TRACKED_MAX = 50_000;

/** Whether a matched route, called with this method, is a client write. */
export function isClientWrite(method: string, routeUrl: string | undefined): boolean {
  if (routeUrl === undefined || method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  if (NOT_WRITES.has(routeUrl) || routeUrl.startsWith('/v1/auth/')) return false;
  return WRITE_PREFIXES.some((p) => routeUrl.startsWith(p));
}

export function createWriteGuardPlugin(limits: ServerLimits): FastifyPluginAsync {
  return fp(
    async (app) => {
      let check: ReturnType<FastifyInstance['createRateLimit']> | null = null;
      if (limits.writeRateMax > 0) {
        // Its own scope: the auth plugin registers @fastify/rate-limit at the root for logins.
        await app.register(async (scope) => {
          await scope.register(rateLimit, { global: false, cache: CLIENTS_TRACKED_MAX });
          check = scope.createRateLimit({
            max: limits.writeRateMax,
            timeWindow: limits.writeRateWindowMs,
            allowList: [],
            ban: -1,
            // The store of this limiter (not only of the plugin registration) is sized here.
            ...({ cache: CLIENTS_TRACKED_MAX } as object),
          });
        });
      }
      let inflight = 0;
      const windowS = Math.ceil(limits.writeRateWindowMs / 1000);
      const guard: WriteGuard = {
        get inflight() {
          return inflight;
        },
        admit: async (req, reply) => {
          if (!check) return;
          const r = await check(req);
          if (r.isAllowed || !r.isExceeded) return;
          const retryAfterS = Math.max(1, r.ttlInSeconds);
          reply?.header('retry-after', String(retryAfterS));
          throw new CairnError(
            'RATE_LIMITED',
            `too many writes from ${req.ip}: at most ${limits.writeRateMax} per ${windowS} s (write-rate-max); retry in ${retryAfterS} s`,
          );
        },
      };
      app.decorate('cairnWriteGuard', guard);

      app.addHook('onRequest', async (req, reply) => {
        if (!isClientWrite(req.method, req.routeOptions.url)) return;
        if (inflight >= limits.writesInflightMax) {
          reply.header('retry-after', '1');
          throw new CairnError(
            'RATE_LIMITED',
            `this replica has ${limits.writesInflightMax} writes waiting for their commit (writes-inflight-max); retry shortly`,
          );
        }
        await guard.admit(req, reply);
        inflight++;
        let counted = true;
        const done = (): void => {
          if (!counted) return;
          counted = false;
          inflight--;
        };
        reply.raw.once('finish', done);
        reply.raw.once('close', done);
      });
    },
    { name: 'cairn-write-guard', fastify: '5.x' },
  );
}
