import type { FastifyInstance } from 'fastify';
import type { FederatedView } from '../federated-view.js';

/** Liveness, and readiness: ready once every zone has been reached (or the start grace has passed). */
export async function federationHealthRoutes(app: FastifyInstance, opts: { view: FederatedView }): Promise<void> {
  const { view } = opts;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ready = view.ready;
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      revision: view.revision,
      zones: view.zones().map((z) => ({ zone: z.zone, state: z.state, serving: z.serving })),
    });
  });
}
