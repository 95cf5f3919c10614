import { z } from 'zod';
import { CairnError } from '../../errors.js';
import type { ZoneRegistry } from '../../registry/zone-registry.js';
import { ALL_NAMESPACES } from './access-control.js';
import { defineRoute, READ_ERRORS, readPoint, WRITE_ERRORS } from './native-route.js';
import { consistentQuery, revisionAnswer } from './native-schemas.js';

/**
 * Zone administration: membership of the replica set (add, promote, remove a replica; hand over
 * leadership) and the zone's traffic weight in the federation's merged view. Membership changes go
 * through the leader; a follower that receives one answers NO_LEADER naming the leader's address,
 * so `cairn ctl` and operators know where to send it.
 */

const TAG = 'zone administration';
const ADMIN = { resource: 'cluster', action: 'admin', public: false } as const;
const ZONE_READ = { resource: 'zone', action: 'read', public: false } as const;
const ZONE_ADMIN = { resource: 'zone', action: 'admin', public: false } as const;

const memberId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (start with a letter or digit)');
const address = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port')
  .describe("the replica's listen address, host:port");
const memberParams = z.object({ id: memberId });
const addMemberBody = z
  .object({
    id: memberId,
    address,
    learner: z.boolean().default(true).describe('join as a learner first (the safe default), then promote'),
  })
  .strict();
const transferBody = z.object({ to: memberId.describe('the voter to hand leadership to') }).strict();
const zoneParams = z.object({
  zone: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and -'),
});
const zoneWeightBody = z
  .object({ weight: z.number().int().min(0).max(100).describe('0 drains the zone; 100 is full weight') })
  .strict();
const zoneWeightAnswer = z.object({ revision: z.number().int(), zone: z.string(), weight: z.number().int() });
const zoneWeightsAnswer = z.object({
  revision: z.number().int(),
  weights: z.array(z.object({ zone: z.string(), weight: z.number().int() })),
});

function requireLeader(registry: ZoneRegistry): void {
  if (registry.isLeader) return;
  const s = registry.raft.status();
  const leaderAddress = s.leader ? s.members[s.leader] : undefined;
  throw new CairnError(
    'NO_LEADER',
    leaderAddress
      ? `membership changes go to the leader: ${s.leader} at ${leaderAddress}`
      : 'the zone has no leader right now; retry shortly',
  );
}

const addMember = defineRoute({
  method: 'POST',
  url: '/v1/cluster/members',
  operationId: 'addMember',
  summary: 'Add a replica to the zone (as a learner by default)',
  description:
    'Start the new replica with --join first. A learner receives the log without voting; promote it once it has caught up.',
  tag: TAG,
  body: addMemberBody,
  response: revisionAnswer,
  errors: [...WRITE_ERRORS, 'CONFLICT'],
  access: ADMIN,
  namespaces: () => [ALL_NAMESPACES],
  async handler({ body }, { registry }) {
    requireLeader(registry);
    const out = await registry.membership(() =>
      registry.raft.addMember(body.id, body.address, { learner: body.learner }),
    );
    return { revision: out.index };
  },
});

const promoteMember = defineRoute({
  method: 'POST',
  url: '/v1/cluster/members/:id/promote',
  operationId: 'promoteMember',
  summary: 'Make a caught-up learner a voter',
  description: 'CONFLICT while the learner is still catching up; NOT_FOUND for an id that is not a learner.',
  tag: TAG,
  params: memberParams,
  response: revisionAnswer,
  errors: [...WRITE_ERRORS, 'CONFLICT', 'NOT_FOUND'],
  access: ADMIN,
  namespaces: () => [ALL_NAMESPACES],
  async handler({ params }, { registry }) {
    requireLeader(registry);
    // Raft would take an unknown id as a new voter without an address, and the zone would lose its quorum.
    const { conf } = registry.raft.status();
    if (conf.voters.includes(params.id)) throw new CairnError('CONFLICT', `${params.id} is already a voter`);
    if (!conf.learners.includes(params.id)) {
      throw new CairnError('NOT_FOUND', `no learner ${params.id}: add it first (POST /v1/cluster/members)`);
    }
    const out = await registry.membership(() => registry.raft.promoteMember(params.id));
    return { revision: out.index };
  },
});

const removeMember = defineRoute({
  method: 'DELETE',
  url: '/v1/cluster/members/:id',
  operationId: 'removeMember',
  summary: 'Remove a replica from the zone',
  description: 'Removing the leader makes it step down once the change commits; the others elect a new leader.',
  tag: TAG,
  params: memberParams,
  response: revisionAnswer,
  errors: [...WRITE_ERRORS, 'CONFLICT'],
  access: ADMIN,
  namespaces: () => [ALL_NAMESPACES],
  async handler({ params }, { registry }) {
    requireLeader(registry);
    const out = await registry.membership(() => registry.raft.removeMember(params.id));
    return { revision: out.index };
  },
});

const transferLeadership = defineRoute({
  method: 'POST',
  url: '/v1/cluster/leader',
  operationId: 'transferLeadership',
  summary: 'Hand leadership to another voter',
  tag: TAG,
  body: transferBody,
  response: revisionAnswer,
  errors: [...WRITE_ERRORS, 'CONFLICT'],
  access: ADMIN,
  namespaces: () => [ALL_NAMESPACES],
  async handler({ body }, { registry }) {
    requireLeader(registry);
    await registry.membership(async () => {
      await registry.raft.transferLeadership(body.to, { timeoutMs: 5000 });
      return { index: registry.revision, result: null };
    });
    return { revision: registry.revision };
  },
});

const listZoneWeights = defineRoute({
  method: 'GET',
  url: '/v1/zones/weights',
  operationId: 'listZoneWeights',
  summary: 'Zone traffic weights stored in this registry',
  description: 'A zone without a stored weight has weight 100.',
  tag: TAG,
  query: consistentQuery,
  response: zoneWeightsAnswer,
  errors: READ_ERRORS,
  access: ZONE_READ,
  namespaces: () => [ALL_NAMESPACES],
  async handler({ query }, { registry }) {
    await readPoint(registry, query.consistent);
    const stored = new Map(registry.state.listZoneWeights());
    if (!stored.has(registry.zone)) stored.set(registry.zone, 100);
    const weights = [...stored.entries()]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([zone, weight]) => ({ zone, weight }));
    return { revision: registry.revision, weights };
  },
});

const setZoneWeight = defineRoute({
  method: 'PUT',
  url: '/v1/zones/:zone/weight',
  operationId: 'setZoneWeight',
  summary: "Set a zone's traffic weight (0 drains it, 100 is full)",
  description: 'Replicated by Raft; every federation node applies it to the merged view.',
  tag: TAG,
  params: zoneParams,
  body: zoneWeightBody,
  response: zoneWeightAnswer,
  errors: WRITE_ERRORS,
  access: ZONE_ADMIN,
  namespaces: () => [ALL_NAMESPACES],
  async handler({ params, body }, { registry }) {
    const { revision } = await registry.execute({ op: 'zone.weight', zone: params.zone, weight: body.weight });
    return { revision, zone: params.zone, weight: body.weight };
  },
});

export const CLUSTER_ROUTES = [
  addMember,
  promoteMember,
  removeMember,
  transferLeadership,
  listZoneWeights,
  setZoneWeight,
];
