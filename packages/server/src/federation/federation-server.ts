import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import pino, { type Logger } from 'pino';
import { Agent } from 'undici';
import { installErrorHandler } from '../api/error-handler.js';
import type { FederationConfig } from './config/federation-config.js';
import { type DnsServer, startDnsServer } from './dns/dns-server.js';
import type { FederationPlugin } from './federation-plugin.js';
import { FEDERATION_PLUGINS } from './federation-plugins.js';
import { createFederationMetrics, FEDERATION_METRICS_PATH } from './metrics/federation-metrics.js';
import { federationHealthRoutes } from './rest/health-routes.js';
import { viewRoutes } from './rest/view-routes.js';
import { zoneRoutes } from './rest/zone-routes.js';
import { MergedView } from './view/merged-view.js';
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
      }),
    );
  }
  const dispatcher = new Agent({ connect: { timeout: 2000 }, keepAliveTimeout: 10_000, connections: 64 });
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    requestTimeout: 120_000,
    routerOptions: { maxParamLength: 512 },
  });

  let dns: DnsServer | null = null;
  const stopAll = async (): Promise<void> => {
    for (const w of watchers) w.close();
    await dns?.close().catch((err: unknown) => log.warn({ err }, 'dns close failed'));
    await app.close().catch((err: unknown) => log.warn({ err }, 'http close failed'));
    await dispatcher.close().catch(() => {});
    view.close();
  };

  let address: string;
  try {
    installErrorHandler(app);
    await app.register(websocket, { options: { maxPayload: WATCH_CLIENT_FRAME_BYTES_MAX } });
    await app.register(federationHealthRoutes, { view });
    await app.register(viewRoutes, { view });
    await app.register(zoneRoutes, { view, zones: config.zones, dispatcher });
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
  log.info(
    {
      listen: address,
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
    dnsAddress,
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

function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i).replace(/^\[(.*)\]$/, '$1'), Number(hostPort.slice(i + 1))];
}
