import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import pino, { type Logger } from 'pino';
import { installErrorHandler } from '../api/error-handler.js';
import { loadAuthFile } from '../auth/auth-config.js';
import { authGuardOf, createAuthPlugin } from '../auth/auth-plugin.js';
import { chooseSubprotocol } from '../auth/socket-credentials.js';
import { splitHostPort } from '../config/config-input.js';
import { loadZoneTls, type ZoneTls } from '../tls/zone-tls.js';
import type { FederationConfig } from './config/federation-config.js';
import { type DnsServer, startDnsServer } from './dns/dns-server.js';
import type { FederationPlugin } from './federation-plugin.js';
import { FEDERATION_PLUGINS } from './federation-plugins.js';
import { createFederationMetrics, FEDERATION_METRICS_PATH } from './metrics/federation-metrics.js';
import { federationHealthRoutes } from './rest/health-routes.js';
import { viewRoutes } from './rest/view-routes.js';
import { zoneRoutes } from './rest/zone-routes.js';
import { MergedView } from './view/merged-view.js';
import { ZoneClient } from './zones/zone-client.js';
import { ZoneWatcher, type ZoneWatcherTuning } from './zones/zone-watcher.js';

export interface FederationServer {
  readonly app: FastifyInstance;
  /** The merged view every output reads. */
  readonly view: MergedView;
  readonly watchers: readonly ZoneWatcher[];
  readonly config: FederationConfig;
  readonly nodeId: string;
  readonly logger: Logger;
  /** host:port of the HTTP port (with the real port when 0 was asked for). */
  readonly address: string;
  /** `https://host:port` with --tls-cert, else `http://host:port`. */
  readonly url: string;
  /** This node's TLS (its own port), or null when it serves plaintext. */
  readonly tls: ZoneTls | null;
  /** How it reaches the zones (zone token, zone CA). */
  readonly zoneClient: ZoneClient;
  /** SIGHUP: rereads the port's certificate and key and the zone CA; a file that fails keeps the previous one. */
  reloadTls(): void;
  /** host:port of the DNS server (UDP and TCP), or null when DNS is off. */
  readonly dnsAddress: string | null;
  close(): Promise<void>;
}

export interface FederationServerOptions {
  /** The API surfaces beyond REST and health (default FEDERATION_PLUGINS). */
  readonly plugins?: readonly FederationPlugin[];
  /** Watcher timings (tests shorten them). */
  readonly watcherTuning?: Partial<ZoneWatcherTuning>;
  /** Add prom-client's process metrics to /metrics (default true). */
  readonly processMetrics?: boolean;
}

/** Frames a watch client may send (subscriptions of up to 1024 services). */
const WATCH_CLIENT_FRAME_BYTES_MAX = 4 * 1024 * 1024;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * One federation node: a watcher per zone feeding the merged view, and every output of that view on
 * one HTTP port (REST, health, metrics, then each FederationPlugin: watch, Nacos reads, admin UI...),
 * plus DNS on its own port. Stateless: several nodes given the same zones serve the same view.
 */
export async function startFederationServer(
  config: FederationConfig,
  logger: Logger = pino({ level: config.logLevel }),
  options: FederationServerOptions = {},
): Promise<FederationServer> {
  const [host, port] = splitHostPort(config.listen);
  const nodeId = config.nodeId ?? defaultNodeId(host, port);
  const log = logger.child({ federation: nodeId });
  const auth = config.auth !== undefined ? config.auth : config.authFile ? loadAuthFile(config.authFile) : null;
  if (!auth && !LOOPBACK_HOSTS.has(host)) {
    log.warn('no --auth-file given: authentication is off, and anyone who reaches this port can read the merged view');
  }
  // Both throw TlsFileError naming a file that cannot be used, before anything starts.
  const tls = loadZoneTls(
    { tlsCert: config.tlsCert, tlsKey: config.tlsKey, peerMtls: false },
    log.child({ component: 'tls' }),
  );
  let zoneClient: ZoneClient;
  try {
    zoneClient = ZoneClient.load({
      token: config.zoneToken,
      caFile: config.zoneCa,
      logger: log.child({ component: 'zone-client' }),
    });
  } catch (err) {
    await tls?.close();
    throw err;
  }
  const view = new MergedView({
    zones: config.zones,
    mergeMode: config.merge,
    overprovisioning: config.overprovisioning,
    policy: config.policy,
    dropAfterMs: config.dropAfterMs,
    readyGraceMs: config.readyGraceMs,
    logger: log.child({ component: 'view' }),
  });
  const watchers: ZoneWatcher[] = [];
  const metrics = createFederationMetrics({
    view,
    watchers,
    nodeId,
    ...(options.processMetrics !== undefined ? { processMetrics: options.processMetrics } : {}),
    // Read when scraped: the app (and its auth guard) exists by then.
    authRefusals: () => authGuardOf(app)?.refusals ?? null,
  });
  for (const z of config.zones) {
    watchers.push(
      new ZoneWatcher({
        zone: z.zone,
        replicas: z.replicas,
        feed: view,
        logger: log.child({ component: 'zone-watch' }),
        ...(options.watcherTuning ? { tuning: options.watcherTuning } : {}),
        observeLagMs: (ms) => metrics.observeLagMs(z.zone, ms),
        client: zoneClient,
      }),
    );
  }
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    requestTimeout: 120_000,
    routerOptions: { maxParamLength: 512 },
    ...(tls ? { https: tls.serverOptions() } : {}),
  });
  tls?.attach(app.server);

  let dns: DnsServer | null = null;
  const stopAll = async (): Promise<void> => {
    for (const w of watchers) w.close();
    await dns?.close().catch((err: unknown) => log.warn({ err }, 'dns close failed'));
    await app.close().catch((err: unknown) => log.warn({ err }, 'http close failed'));
    await zoneClient.close();
    await tls?.close();
    view.close();
  };

  let address: string;
  try {
    installErrorHandler(app);
    // Browsers offer `cairn.v1` and their token as `cairn.bearer.*`: the answer is `cairn.v1`, never the token.
    await app.register(websocket, {
      options: { maxPayload: WATCH_CLIENT_FRAME_BYTES_MAX, handleProtocols: chooseSubprotocol },
    });
    // Authentication and per-namespace authorization for every route below (off without an auth
    // file). At the root: the plugins below are each registered in their own scope.
    await app.register(createAuthPlugin(auth));
    await app.register(federationHealthRoutes, { view });
    await app.register(viewRoutes, { view });
    await app.register(zoneRoutes, { view, zones: config.zones, client: zoneClient });
    app.get(FEDERATION_METRICS_PATH, async (_req, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    });
    const ctx = { view, nodeId, logger: log };
    for (const plugin of options.plugins ?? FEDERATION_PLUGINS) {
      await app.register(async (scope) => plugin(scope, ctx));
    }
    await app.listen({ host, port });
    const addr = app.server.address();
    address = `${host}:${typeof addr === 'object' && addr ? addr.port : port}`;
    for (const w of watchers) w.start();
    if (config.dns !== null) {
      dns = await startDnsServer({
        view,
        listen: config.dns,
        domain: config.dnsDomain,
        ttlS: config.dnsTtlS,
        logger: log,
      });
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const dnsAddress = dns ? `${dns.host}:${dns.port}` : null;
  const url = `${tls ? 'https' : 'http'}://${address}`;
  log.info(
    {
      listen: address,
      url,
      auth: auth !== null,
      zoneToken: zoneClient.hasToken,
      dns: dnsAddress,
      zones: config.zones.map((z) => z.zone),
      merge: config.merge,
      policy: config.policy,
    },
    'cairn federation started',
  );

  let closing: Promise<void> | null = null;
  return {
    app,
    view,
    watchers,
    config,
    nodeId,
    logger: log,
    address,
    url,
    tls,
    zoneClient,
    dnsAddress,
    reloadTls: () => {
      if (!tls && config.zoneCa === undefined) log.info('SIGHUP: no TLS files to reread');
      tls?.reload();
      zoneClient.reload();
    },
    close: () => {
      closing ??= stopAll();
      return closing;
    },
  };
}

function defaultNodeId(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? hostname() : host;
  // Port 0 is chosen at listen time, after the plugins are given the id: name the process instead.
  return port === 0 ? `${h}:${process.pid}-${randomBytes(3).toString('hex')}` : `${h}:${port}`;
}
