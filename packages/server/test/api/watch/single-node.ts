// An in-process, single-node zone replica with only the push API, for protocol tests: a real Raft
// node on a level database in a temp dir, a real fastify server on 127.0.0.1, and knobs (hub history
// and queue sizes, push limits) that the full server does not expose.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { installErrorHandler } from '../../../src/api/error-handler.js';
import type { PushLimits } from '../../../src/api/watch/push-limits.js';
import { pushApi } from '../../../src/api/watch/push-plugin.js';
import { type PushStats, pushStatsOf } from '../../../src/api/watch/push-stats.js';
import type { RegisterSpec } from '../../../src/registry/commands.js';
import { DEFAULT_HEARTBEAT, type Metadata } from '../../../src/registry/model.js';
import { ZoneRegistry } from '../../../src/registry/zone-registry.js';

export interface SingleNode {
  readonly registry: ZoneRegistry;
  readonly app: FastifyInstance;
  readonly url: string;
  readonly stats: PushStats;
  close(): Promise<void>;
}

export interface SingleNodeOptions {
  readonly watchHistoryMax?: number;
  readonly watchQueueMax?: number;
  readonly limits?: Partial<PushLimits>;
}

export async function startSingleNode(opts: SingleNodeOptions = {}): Promise<SingleNode> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-push-'));
  const logger = pino({ level: 'silent' });
  const registry = await ZoneRegistry.start({
    zone: 'az1',
    nodeId: 'n1',
    peers: {},
    advertiseAddress: '127.0.0.1:1',
    dataDir: dir,
    clusterSecret: 'test-cluster-secret-0123456789',
    logger,
    tickMs: 20,
    ...(opts.watchHistoryMax ? { watchHistoryMax: opts.watchHistoryMax } : {}),
    ...(opts.watchQueueMax ? { watchQueueMax: opts.watchQueueMax } : {}),
  });
  const app: FastifyInstance = Fastify({ loggerInstance: logger as FastifyBaseLogger });
  installErrorHandler(app);
  await app.register(websocket, { options: { maxPayload: 64 * 1024 * 1024 } });
  const plugin = pushApi(opts.limits);
  await app.register(async (scope) => plugin(scope, { registry }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await waitForLeader(registry);
  return {
    registry,
    app,
    url: `http://127.0.0.1:${port}`,
    stats: pushStatsOf(registry)!,
    close: async () => {
      await app.close();
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForLeader(registry: ZoneRegistry): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!registry.isLeader) {
    if (Date.now() > deadline) throw new Error('single node did not become leader');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A persistent instance of `service` (kept by nobody: it never expires), for direct registry writes. */
export function spec(service: string, port: number, metadata: Metadata = {}): RegisterSpec {
  return {
    namespace: 'public',
    group: 'DEFAULT_GROUP',
    service,
    cluster: 'DEFAULT',
    ip: '10.0.0.1',
    port,
    weight: 100,
    healthy: true,
    enabled: true,
    ephemeral: false,
    zone: 'az1',
    metadata,
    heartbeat: DEFAULT_HEARTBEAT,
    lease: null,
    check: null,
  };
}

export const ref = (service: string) => ({ namespace: 'public', group: 'DEFAULT_GROUP', service });
