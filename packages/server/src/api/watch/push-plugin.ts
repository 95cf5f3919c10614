import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { OPEN_SOCKET_ACCESS, type SocketAccess } from '../../auth/auth-guard.js';
import { authGuardOf } from '../../auth/auth-plugin.js';
import type { ServerConfig } from '../../config/server-config.js';
import { CairnError } from '../../errors.js';
import { CLOSE_CODES, SESSION_PATH, WATCH_PATH } from '../../protocol/protocol-version.js';
import type { ZoneRegistry } from '../../registry/zone-registry.js';
import { quotaOf } from '../limits/registry-quota.js';
import { serverLimitsOf } from '../limits/server-limits.js';
import { writeGuardOf } from '../limits/write-guard.js';
import type { PushContext } from './push-context.js';
import { type PushLimits, resolvePushLimits } from './push-limits.js';
import type { PushSocket } from './push-socket.js';
import { attachPushStats, PushStats } from './push-stats.js';
import { RevisionWaiter } from './revision-waiter.js';
import { SessionConnection } from './session-connection.js';
import { WatchConnection } from './watch-connection.js';
import { ChangeEncoder } from './wire-encoding.js';

/**
 * The push protocol of a zone replica, one plugin: `GET /v1/watch` (snapshots, then ordered deltas,
 * progress and resyncs) and `GET /v1/session` (an SDK process's lease), both WebSocket. The message
 * schemas live in ../../protocol, shared with the SDK and the federation.
 *
 * Usable as an ApiPlugin: `pushApi()` with the default limits, `pushApi({ ... })` with others.
 */
export function pushApi(
  overrides: Partial<PushLimits> = {},
): (app: FastifyInstance, ctx: { registry: ZoneRegistry; config?: ServerConfig }) => Promise<void> {
  const defaults = resolvePushLimits(overrides);
  return async (app, { registry, config }) => {
    // The server's socket bounds (--watch-connections-max...) unless the caller overrides them.
    const server = config ? serverLimitsOf(config) : null;
    const limits = server
      ? resolvePushLimits({
          watchConnectionsMax: server.watchConnectionsMax,
          sessionConnectionsMax: server.sessionConnectionsMax,
          ...overrides,
        })
      : defaults;
    const stats = new PushStats();
    attachPushStats(registry, stats);
    const waiter = new RevisionWaiter(registry);
    const ctx: PushContext = {
      registry,
      limits,
      stats,
      waiter,
      log: app.log.child({ component: 'push' }),
      ...(server ? { quota: quotaOf(registry, server) } : {}),
    };
    const encoder = new ChangeEncoder();
    const watches = new Set<WatchConnection>();
    const sessions = new Set<SessionConnection>();

    // One timer for every socket: pings, idle and slow-consumer checks, progress, session expiry.
    const sweep = (set: Set<PushSocket<unknown>>): void => {
      const now = performance.now();
      for (const c of set) if (!c.tick(now)) set.delete(c);
    };
    const sweeper = setInterval(() => {
      sweep(watches as Set<PushSocket<unknown>>);
      sweep(sessions as Set<PushSocket<unknown>>);
    }, limits.sweepMs);
    sweeper.unref();

    app.addHook('preClose', async () => {
      clearInterval(sweeper);
      waiter.close();
      // Clients reconnect to another replica: sessions resume there, watches resume from their revision.
      for (const c of [...watches, ...sessions]) c.close(CLOSE_CODES.GOING_AWAY, 'the replica is shutting down');
    });

    /** Refuses the upgrade with an HTTP answer (before any WebSocket exists) when the limit is reached. */
    const limitUpgrades =
      (count: () => number, max: number, what: string) =>
      async (req: FastifyRequest): Promise<void> => {
        if (!req.ws) return;
        if (count() >= max) {
          stats.refusedConnections++;
          throw new CairnError('RATE_LIMITED', `this replica serves at most ${max} ${what}; try another replica`);
        }
      };
    // Authenticated at the upgrade (or refused with an HTTP 401/403 before any WebSocket exists);
    // each subscription and registration is then checked against the namespace it touches.
    const guard = authGuardOf(app);
    const writeGuard = writeGuardOf(app);
    const accesses = new WeakMap<FastifyRequest, SocketAccess>();
    const authenticate =
      (surface: 'watch' | 'session') =>
      async (req: FastifyRequest): Promise<void> => {
        if (guard) accesses.set(req, await guard.socketAccess(req, surface));
      };
    const accessOf = (req: FastifyRequest): SocketAccess | undefined =>
      guard ? accesses.get(req) : OPEN_SOCKET_ACCESS;

    const notUpgraded = async (_req: FastifyRequest, _reply: FastifyReply): Promise<never> => {
      throw new CairnError('VALIDATION_FAILED', 'this endpoint speaks WebSocket: connect with an Upgrade request');
    };

    app.route({
      method: 'GET',
      url: WATCH_PATH,
      config: { auth: 'self' },
      preValidation: [
        authenticate('watch'),
        limitUpgrades(() => watches.size, limits.watchConnectionsMax, 'watch sockets'),
      ],
      handler: notUpgraded,
      wsHandler: (socket: WebSocket, req: FastifyRequest) => {
        const access = accessOf(req);
        if (!access) return socket.close(CLOSE_CODES.INTERNAL, 'not authenticated');
        const c = new WatchConnection(socket, ctx, encoder, access);
        watches.add(c);
        stats.watchConnections++;
        socket.once('close', () => {
          watches.delete(c);
          stats.watchConnections--;
        });
        c.hello();
      },
    });

    app.route({
      method: 'GET',
      url: SESSION_PATH,
      config: { auth: 'self' },
      preValidation: [
        authenticate('session'),
        limitUpgrades(() => sessions.size, limits.sessionConnectionsMax, 'session sockets'),
      ],
      handler: notUpgraded,
      wsHandler: (socket: WebSocket, req: FastifyRequest) => {
        const access = accessOf(req);
        if (!access) return socket.close(CLOSE_CODES.INTERNAL, 'not authenticated');
        const c = new SessionConnection(socket, ctx, access, async () => writeGuard?.admit(req));
        sessions.add(c);
        stats.sessionConnections++;
        socket.once('close', () => {
          sessions.delete(c);
          stats.sessionConnections--;
        });
        c.hello();
      },
    });
  };
}
