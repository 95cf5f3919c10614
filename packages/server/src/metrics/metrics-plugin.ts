import { authGuardOf } from '../auth/auth-plugin.js';
import type { ApiPlugin } from '../server/zone-server.js';
import { createServerMetrics } from './server-metrics.js';

export const METRICS_PATH = '/metrics';

/** `/metrics`: the server's Prometheus metrics in the text exposition format. */
export const metricsPlugin: ApiPlugin = async (app, { registry, checks }) => {
  const metrics = createServerMetrics({ registry, checks, authRefusals: authGuardOf(app)?.refusals ?? null });
  app.addHook('onClose', async () => metrics.close());
  app.get(METRICS_PATH, async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
};
