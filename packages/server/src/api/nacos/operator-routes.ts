import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { type NacosContext, sendJson } from './nacos-context.js';

/**
 * `GET /nacos/v1/ns/operator/metrics` (Nacos 2.x's MetricsInfoVo). Clients read `status` ("UP" or
 * "DOWN") to decide whether the server is healthy; cairn says UP when this replica is ready (it knows
 * the leader and has applied everything it knows to be committed). In cairn every registered
 * instance is its own client, as Nacos 2.x counts HTTP (ip:port) clients.
 */
export async function operatorRoutes(app: FastifyInstance, ctx: NacosContext): Promise<void> {
  const { registry } = ctx;
  app.get('/nacos/v1/ns/operator/metrics', async (req, reply) => {
    await ctx.authorize(req, { resource: 'operator', action: 'read', namespace: '*' });
    const s = registry.raft.status();
    const ready = s.leader !== '' && s.applied >= s.commit;
    let ephemeral = 0;
    let persistent = 0;
    for (const inst of registry.state.allInstances()) {
      if (inst.ephemeral) ephemeral++;
      else persistent++;
    }
    const load = loadavg()[0] ?? 0;
    return sendJson(
      reply,
      JSON.stringify({
        status: ready ? 'UP' : 'DOWN',
        serviceCount: registry.state.totalServices,
        instanceCount: registry.state.totalInstances,
        subscribeCount: ctx.pusher.subscriberCount,
        clientCount: ephemeral + persistent,
        connectionBasedClientCount: 0,
        ephemeralIpPortClientCount: ephemeral,
        persistentIpPortClientCount: persistent,
        responsibleClientCount: ephemeral + persistent,
        cpu: round(Math.min(1, load / Math.max(1, cpus().length))),
        load: round(load),
        mem: round(1 - freemem() / totalmem()),
      }),
    );
  });
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
