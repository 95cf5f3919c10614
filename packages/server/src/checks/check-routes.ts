import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CairnError } from '../errors.js';
import { CLUSTER_AUTH_HEADER } from '../registry/zone-registry.js';
import { CHECK_VIEW_PATH, type HealthChecker } from './health-checker.js';

/**
 * The replica-to-replica route of the health checks: the leader tells followers which replicas it
 * counts live, so that every replica spreads the checks over the same set. Authenticated by the
 * cluster secret, like the other internal routes.
 */
export async function checkRoutes(
  app: FastifyInstance,
  opts: { checks: HealthChecker; clusterSecret: string },
): Promise<void> {
  const expected = Buffer.from(opts.clusterSecret);
  app.get(CHECK_VIEW_PATH, async (req) => {
    const got = Buffer.from(String(req.headers[CLUSTER_AUTH_HEADER] ?? ''));
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new CairnError('UNAUTHENTICATED', 'replica authentication failed');
    }
    const view = opts.checks.viewForPeers();
    if (!view) throw new CairnError('NO_LEADER', 'this replica does not lead the zone; ask the leader');
    return view;
  });
}
