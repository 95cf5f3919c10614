import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CairnError } from '../errors.js';
import { CLUSTER_AUTH_HEADER, RENEWAL_PATH, type ZoneRegistry } from '../registry/zone-registry.js';

const renewalBatchSchema = z.object({
  instances: z.array(z.string().max(1024)).max(100_000),
  sessions: z.array(z.string().max(256)).max(100_000),
});

/** Replica-to-replica routes, authenticated by the cluster secret. */
export async function internalRoutes(
  app: FastifyInstance,
  opts: { registry: ZoneRegistry; clusterSecret: string },
): Promise<void> {
  const expected = Buffer.from(opts.clusterSecret);
  app.addHook('onRequest', async (req) => {
    const got = Buffer.from(String(req.headers[CLUSTER_AUTH_HEADER] ?? ''));
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      req.log.warn({ remote: req.ip }, 'internal route refused: bad cluster secret');
      throw new CairnError('UNAUTHENTICATED', 'replica authentication failed');
    }
  });
  app.post(RENEWAL_PATH, async (req) => {
    opts.registry.acceptForwardedRenewals(renewalBatchSchema.parse(req.body));
    return { ok: true };
  });
}
