import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { OPEN_SOCKET_ACCESS, type SocketAccess } from '../../auth/auth-guard.js';
import { authGuardOf } from '../../auth/auth-plugin.js';
import { CairnError } from '../../errors.js';
import { CLOSE_CODES, WATCH_PATH } from '../../protocol/protocol-version.js';
import type { FederationPlugin } from '../federation-plugin.js';
import { ChangeFeed } from './change-feed.js';
import { FederationWatchConnection, type FederationWatchContext } from './watch-connection.js';
import { ChangeEncoder } from './watch-encoding.js';
import { type FederationWatchLimits, resolveFederationWatchLimits } from './watch-limits.js';
import { attachFederationWatchStats, FederationWatchStats } from './watch-stats.js';

/**
 * `GET /v1/watch` on a federation node: the zone registry's push protocol (../../protocol/README.md)
 * over the merged view, so the SDK and gateways watch a federation as they watch a zone. Revisions
 * are the view's own; instances carry `effectiveWeight` and `stale` besides the zone's fields; zone
 * states and weights also go out as `{type: 'zones', revision, zones}`. Needs @fastify/websocket
 * registered on the app. With auth on (the auth plugin at the root), the upgrade needs `read`
 * somewhere (else an HTTP 401/403, before any WebSocket exists), and each subscription `read` on its
 * services' namespaces (`all: true`: on `*`), refused with an `error` message.
 *
 * `createFederationWatchApi({ ... })` takes other limits (tests shorten the timers).
 */
export function createFederationWatchApi(overrides: Partial<FederationWatchLimits> = {}): FederationPlugin {
  const limits = resolveFederationWatchLimits(overrides);
  return async (app, { view, nodeId, logger }) => {
    const stats = new FederationWatchStats();
    attachFederationWatchStats(view, stats);
    const feed = new ChangeFeed(view, limits);
    const ctx: FederationWatchContext = {
      view,
      feed,
      encoder: new ChangeEncoder(),
      limits,
      stats,
      nodeId,
      log: logger.child({ component: 'federation-watch' }),
    };
    const sockets = new Set<FederationWatchConnection>();

    // One timer for every socket: pings, idle and slow-consumer checks, waiting snapshots, progress.
    const sweeper = setInterval(() => {
      const now = performance.now();
      for (const c of sockets) if (!c.tick(now)) sockets.delete(c);
    }, limits.sweepMs);
    sweeper.unref();

    app.addHook('preClose', async () => {
      clearInterval(sweeper);
      // Clients reconnect to another federation node (and get a snapshot there: revisions are per node).
      for (const c of sockets) c.close(CLOSE_CODES.GOING_AWAY, 'the federation node is shutting down');
    });
    app.addHook('onClose', async () => feed.close());

    const guard = authGuardOf(app);
    const accesses = new WeakMap<FastifyRequest, SocketAccess>();

    app.route({
      method: 'GET',
      url: WATCH_PATH,
      config: { auth: 'self' },
      preValidation: async (req: FastifyRequest) => {
        // Authenticated at the upgrade; each subscription is checked against its namespaces.
        if (guard) accesses.set(req, await guard.socketAccess(req, 'watch'));
        if (!req.ws) return;
        if (sockets.size >= limits.watchConnectionsMax) {
          stats.refusedConnections++;
          throw new CairnError(
            'RATE_LIMITED',
            `this federation node serves at most ${limits.watchConnectionsMax} watch sockets; try another node`,
          );
        }
      },
      handler: async (_req: FastifyRequest, _reply: FastifyReply): Promise<never> => {
        throw new CairnError('VALIDATION_FAILED', 'this endpoint speaks WebSocket: connect with an Upgrade request');
      },
      wsHandler: (socket: WebSocket, req: FastifyRequest) => {
        const access = guard ? accesses.get(req) : OPEN_SOCKET_ACCESS;
        if (!access) return socket.close(CLOSE_CODES.INTERNAL, 'not authenticated');
        const c = new FederationWatchConnection(socket, ctx, access);
        sockets.add(c);
        stats.connections++;
        socket.once('close', () => {
          sockets.delete(c);
          stats.connections--;
        });
        c.hello();
      },
    });
  };
}

/** The federation watch with the zone registry's default limits. */
export const federationWatchApi: FederationPlugin = createFederationWatchApi();
