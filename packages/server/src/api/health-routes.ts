import type { FastifyInstance } from 'fastify';
import type { ZoneRegistry } from '../registry/zone-registry.js';

/** Liveness, readiness and the zone's Raft membership view. */
export async function healthRoutes(app: FastifyInstance, opts: { registry: ZoneRegistry }): Promise<void> {
  const { registry } = opts;

  app.get('/healthz', async () => ({ status: 'ok' }));

  // Ready once the replica knows a leader and has applied everything it knows to be committed.
  app.get('/readyz', async (_req, reply) => {
    const s = registry.raft.status();
    const ready = s.leader !== '' && s.applied >= s.commit;
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      leader: s.leader,
      commit: s.commit,
      applied: s.applied,
    });
  });

  app.get('/v1/cluster', async () => {
    const s = registry.raft.status();
    const leaderProgress = s.progress;
    return {
      zone: registry.zone,
      node: s.id,
      role: s.role,
      term: s.term,
      leader: s.leader,
      commit: s.commit,
      applied: s.applied,
      revision: registry.revision,
      members: Object.entries(s.members).map(([id, address]) => {
        const pr = leaderProgress[id];
        return {
          id,
          address,
          voter: s.conf.voters.includes(id),
          leader: id === s.leader,
          ...(pr ? { match: pr.match, lag: Math.max(0, s.commit - pr.match), state: pr.state, active: pr.active } : {}),
        };
      }),
    };
  });
}
