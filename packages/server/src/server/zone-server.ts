import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import pino, { type Logger } from 'pino';
import { installErrorHandler } from '../api/error-handler.js';
import { healthRoutes } from '../api/health-routes.js';
import { internalRoutes } from '../api/internal-routes.js';
import { applyConnectionLimits, edgeServerOptions } from '../api/limits/connection-limits.js';
import { serverLimitsOf } from '../api/limits/server-limits.js';
import { createUpgradeGuardPlugin } from '../api/limits/upgrade-guard.js';
import { createWriteGuardPlugin } from '../api/limits/write-guard.js';
import { createAuthPlugin } from '../auth/auth-plugin.js';
import { chooseSubprotocol } from '../auth/socket-credentials.js';
import { checkRoutes } from '../checks/check-routes.js';
import { HealthChecker } from '../checks/health-checker.js';
import { splitHostPort } from '../config/config-input.js';
import type { ServerConfig } from '../config/server-config.js';
import { ZoneRegistry } from '../registry/zone-registry.js';
import { peerCertificateGuard } from '../tls/peer-certificate.js';
import { loadZoneTls, type ZoneTls } from '../tls/zone-tls.js';

export const PEER_PATH = '/raft/peer';

export interface ZoneServer {
  readonly app: FastifyInstance;
  readonly registry: ZoneRegistry;
  readonly config: ServerConfig;
  readonly logger: Logger;
  /** The active health checks this replica runs (started once it listens, stopped first on close). */
  readonly checks: HealthChecker;
  /** The address the server listens on (with the real port when 0 was asked for). */
  readonly address: string;
  /** The replica's TLS (`reload()` on SIGHUP), or null when it serves plaintext. */
  readonly tls: ZoneTls | null;
  close(): Promise<void>;
}

/** Route plugins other parts of the server add (native API, Nacos API, watch, metrics, UI). */
export type ApiPlugin = (
  app: FastifyInstance,
  ctx: { registry: ZoneRegistry; config: ServerConfig; checks: HealthChecker },
) => Promise<void>;

/**
 * One replica of a zone registry: the Raft-replicated registry and every API surface on one port,
 * peer links included (Raft traffic is a WebSocket route on the same port).
 */
export async function startZoneServer(
  config: ServerConfig,
  plugins: readonly ApiPlugin[] = [],
  logger: Logger = pino({ level: config.logLevel }),
): Promise<ZoneServer> {
  const log = logger.child({ zone: config.zone, node: config.nodeId });
  // The Raft node binds its own { node } on the zone logger.
  const raftLog = logger.child({ zone: config.zone });
  if (config.devSecret && Object.keys(config.peers).length > 0) {
    log.warn('no --cluster-secret given: replicas authenticate with the built-in development secret');
  }
  if (!config.auth && Object.keys(config.peers).length > 0) {
    log.warn(
      'no --auth-file given: authentication is off, and anyone who reaches this port can read and change the registry',
    );
  }
  // Raft first: peers that dial in before this port listens simply retry with backoff.
  const [host, port] = splitHostPort(config.listen);
  const tls = loadZoneTls(config, log.child({ component: 'tls' }));
  const registry = await ZoneRegistry.start({
    zone: config.zone,
    nodeId: config.nodeId,
    peers: config.peers,
    advertiseAddress: config.advertise,
    dataDir: config.dataDir,
    clusterSecret: config.clusterSecret,
    logger: raftLog,
    tickMs: config.tickMs,
    electionTicks: config.electionTicks,
    snapshotEntries: config.snapshotEntries,
    join: config.join,
    ...(tls ? { dialer: tls.dialer } : {}),
  });
  const checks = new HealthChecker({
    registry,
    logger: log.child({ component: 'checks' }),
    clusterSecret: config.clusterSecret,
    electionTimeoutMs: config.tickMs * config.electionTicks,
    ...(tls ? { dialer: tls.dialer } : {}),
  });
  const limits = serverLimitsOf(config);
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // Per-request log lines would dominate the hot path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // Timeouts against slow clients; refusals made before any route runs, in cairn's format.
    ...edgeServerOptions(limits),
    routerOptions: { maxParamLength: 512 },
    ...(tls ? { https: tls.serverOptions() } : {}),
  });
  tls?.attach(app.server);
  applyConnectionLimits(app.server, limits);
  try {
    installErrorHandler(app);
    // Per-client write rates and writes in flight, for every API surface registered below.
    await app.register(createWriteGuardPlugin(limits));
    // WebSocket handshakes that ws would refuse in its own format, and upgrades to plain routes.
    await app.register(createUpgradeGuardPlugin());
    // Under mutual TLS the replica-only routes want a client certificate signed by the zone CA.
    if (tls?.peerMtls)
      app.addHook(
        'onRequest',
        peerCertificateGuard((url) => url === PEER_PATH || url.startsWith('/internal/')),
      );
    // Browsers offer `cairn.v1` and their token as `cairn.bearer.*`: the answer is `cairn.v1`, never the token.
    await app.register(websocket, { options: { maxPayload: 64 * 1024 * 1024, handleProtocols: chooseSubprotocol } });
    // Authentication and per-namespace authorization for every route below (off without an auth file).
    await app.register(createAuthPlugin(config.auth ?? null));
    // Peer links: the Raft transport authenticates the upgrade request and refuses (close 1008) a
    // peer that is not a member or does not know the cluster secret.
    app.get(PEER_PATH, { websocket: true }, (socket, req) => registry.raft.acceptPeerSocket(socket, req.raw));
    await app.register(healthRoutes, { registry });
    await app.register(internalRoutes, { registry, clusterSecret: config.clusterSecret });
    await app.register(checkRoutes, { checks, clusterSecret: config.clusterSecret });
    for (const plugin of plugins) await app.register(async (scope) => plugin(scope, { registry, config, checks }));
    await app.listen({ host, port });
  } catch (err) {
    await app.close().catch(() => {});
    await registry.close();
    await tls?.close();
    throw err;
  }
  const addr = app.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const started = registry;
  checks.start();
  log.info({ listen: `${host}:${boundPort}`, peers: config.peers, dataDir: config.dataDir }, 'cairn server started');

  let closing: Promise<void> | null = null;
  return {
    app,
    registry: started,
    config,
    logger: log,
    checks,
    address: `${host}:${boundPort}`,
    tls,
    close: () => {
      closing ??= (async () => {
        // Hand leadership over first so the zone keeps accepting writes while we go.
        if (started.isLeader && Object.keys(config.peers).length > 1) {
          const target = Object.keys(started.raft.status().members).find((id) => id !== config.nodeId);
          if (target) await started.raft.transferLeadership(target, { timeoutMs: 2000 }).catch(() => {});
        }
        await checks.stop();
        await app.close();
        await started.close();
        await tls?.close();
      })();
      return closing;
    },
  };
}
