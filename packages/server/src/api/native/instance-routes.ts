import { CairnError } from '../../errors.js';
import type { RegisterSpec } from '../../registry/commands.js';
import { type Instance, type InstanceKey, instanceIdOf, type Lease, leaseIdOf } from '../../registry/model.js';
import type { ZoneRegistry } from '../../registry/zone-registry.js';
import { COMMON_ERRORS, defineRoute, READ_ERRORS, readPoint, WRITE_ERRORS } from './native-route.js';
import {
  heartbeatAnswer,
  heartbeatBatchAnswer,
  heartbeatBatchBody,
  instanceAnswer,
  instanceKeyBody,
  instanceKeyQuery,
  instanceReadQuery,
  NATIVE_LIMITS,
  registerAnswer,
  registerBody,
  revisionAnswer,
  updateBody,
} from './native-schemas.js';

/** Register, update, deregister, heartbeat and read instances. */

const TAG = 'instances';
const WRITE = { resource: 'instance', action: 'write', public: false } as const;
const READ = { resource: 'instance', action: 'read', public: false } as const;

function keyOf(k: InstanceKey): InstanceKey {
  return { namespace: k.namespace, group: k.group, service: k.service, cluster: k.cluster, ip: k.ip, port: k.port };
}

function describe(k: InstanceKey): string {
  return `${k.ip}:${k.port} in ${k.namespace}/${k.group}/${k.service} (cluster ${k.cluster})`;
}

const register = defineRoute({
  method: 'POST',
  url: '/v1/instances',
  operationId: 'registerInstance',
  summary: 'Register an instance (idempotent)',
  description:
    'Creates or replaces the instance identified by namespace/group/service/cluster/ip/port; registering the same ' +
    'instance again changes nothing (`changed: false`). The service is created on first use; the namespace must ' +
    'exist. The instance is stamped with the zone of this registry. An ephemeral instance lives under its own ' +
    'lease (renew it with heartbeats) or, with `sessionId`, under that SDK session.',
  tag: TAG,
  body: registerBody,
  response: registerAnswer,
  errors: [...WRITE_ERRORS, 'NOT_FOUND'],
  access: WRITE,
  bodyLimitBytes: NATIVE_LIMITS.writeBodyBytesMax,
  namespaces: ({ body }) => [body.namespace],
  async handler({ body }, { registry, config, quota }) {
    const lease: Lease | null =
      body.sessionId !== undefined
        ? { kind: 'session', sessionId: body.sessionId }
        : body.ephemeral
          ? { kind: 'instance' }
          : null;
    const instance: RegisterSpec = {
      ...keyOf(body),
      weight: body.weight,
      healthy: body.healthy,
      enabled: body.enabled,
      ephemeral: body.ephemeral,
      zone: config.zone,
      metadata: body.metadata,
      heartbeat: body.heartbeat,
      lease,
      check: body.check,
    };
    quota.admit({ op: 'register', instance });
    const { revision, result } = await registry.execute({ op: 'register', instance });
    if (!result.instance) throw new CairnError('INTERNAL', 'registration applied without an instance');
    return { revision, changed: result.changed > 0, instance: result.instance };
  },
});

const deregister = defineRoute({
  method: 'DELETE',
  url: '/v1/instances',
  operationId: 'deregisterInstance',
  summary: 'Deregister an instance',
  description: 'The instance is named in the query string. NOT_FOUND when the registry does not hold it.',
  tag: TAG,
  query: instanceKeyQuery,
  response: revisionAnswer,
  errors: [...WRITE_ERRORS, 'NOT_FOUND'],
  access: WRITE,
  namespaces: ({ query }) => [query.namespace],
  async handler({ query }, { registry }) {
    const { revision } = await registry.execute({ op: 'deregister', key: keyOf(query) });
    return { revision };
  },
});

const update = defineRoute({
  method: 'PATCH',
  url: '/v1/instances',
  operationId: 'updateInstance',
  summary: "Update an instance's weight, enabled flag or metadata",
  description: 'Fields left out keep their value; `metadata` replaces the whole map.',
  tag: TAG,
  body: updateBody,
  response: instanceAnswer,
  errors: [...WRITE_ERRORS, 'NOT_FOUND'],
  access: WRITE,
  bodyLimitBytes: NATIVE_LIMITS.writeBodyBytesMax,
  namespaces: ({ body }) => [body.namespace],
  async handler({ body }, { registry, quota }) {
    const patch = {
      ...(body.weight !== undefined ? { weight: body.weight } : {}),
      ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
    };
    quota.admit({ op: 'update', key: keyOf(body), patch });
    const { revision, result } = await registry.execute({ op: 'update', key: keyOf(body), patch });
    if (!result.instance) throw new CairnError('INTERNAL', 'update applied without an instance');
    return { revision, instance: result.instance };
  },
});

const getInstance = defineRoute({
  method: 'GET',
  url: '/v1/instances',
  operationId: 'getInstance',
  summary: 'Read one instance',
  description: "The instance is named in the query string. Its `healthy` is the registry's own view.",
  tag: TAG,
  query: instanceReadQuery,
  response: instanceAnswer,
  errors: [...READ_ERRORS, 'NOT_FOUND'],
  access: READ,
  namespaces: ({ query }) => [query.namespace],
  async handler({ query }, { registry }) {
    await readPoint(registry, query.consistent);
    const instance = registry.state.instance(keyOf(query));
    if (!instance) throw new CairnError('NOT_FOUND', `no instance ${describe(query)}`);
    return { revision: registry.revision, instance };
  },
});

/**
 * Renews the leases of instances this replica's applied state holds, once each; returns the ones it
 * does not hold (an instance unknown to the applied state is unknown, even if a lease says otherwise).
 */
function renewKnown(
  registry: ZoneRegistry,
  keys: readonly InstanceKey[],
): { known: Instance[]; unknown: InstanceKey[] } {
  const known = new Map<string, Instance>();
  const unknown = new Map<string, InstanceKey>();
  const leased = new Map<string, string>(); // lease id -> ref
  for (const k of keys) {
    const ref = `${k.namespace}/${instanceIdOf(k)}`;
    if (known.has(ref) || unknown.has(ref)) continue;
    const inst = registry.state.instance(k);
    if (!inst) {
      unknown.set(ref, k);
      continue;
    }
    known.set(ref, inst);
    if (inst.ephemeral && inst.lease?.kind === 'instance') leased.set(leaseIdOf(inst), ref);
  }
  if (leased.size > 0) {
    // The leader also says which leases it does not track; a follower forwards them and answers from its state.
    for (const id of registry.renew([...leased.keys()], []).unknownInstances) {
      const ref = leased.get(id);
      const inst = ref === undefined ? undefined : known.get(ref);
      if (ref === undefined || !inst) continue;
      known.delete(ref);
      unknown.set(ref, keyOf(inst));
    }
  }
  return { known: [...known.values()], unknown: [...unknown.values()] };
}

const heartbeat = defineRoute({
  method: 'PUT',
  url: '/v1/instances/heartbeat',
  operationId: 'heartbeatInstance',
  summary: "Renew an instance's lease",
  description:
    'Heartbeats are not written to the Raft log: the leader tracks them in memory (followers forward them in ' +
    'batches). NOT_FOUND means the registry no longer holds the instance (it expired or was deregistered): ' +
    'register it again. Instances under an SDK session or persistent instances have nothing to renew here.',
  tag: TAG,
  body: instanceKeyBody,
  response: heartbeatAnswer,
  errors: [...COMMON_ERRORS, 'NOT_FOUND'],
  access: WRITE,
  namespaces: ({ body }) => [body.namespace],
  async handler({ body }, { registry }) {
    const key = keyOf(body);
    const [inst] = renewKnown(registry, [key]).known;
    if (!inst) throw new CairnError('NOT_FOUND', `no instance ${describe(key)}; register it again`);
    const lease: 'instance' | 'session' | 'none' = inst.lease?.kind ?? 'none';
    return { revision: registry.revision, lease, heartbeatIntervalMs: inst.heartbeat.intervalMs };
  },
});

const heartbeatBatch = defineRoute({
  method: 'PUT',
  url: '/v1/instances/heartbeat/batch',
  operationId: 'heartbeatInstances',
  summary: 'Renew the leases of many instances at once',
  description: `Up to ${NATIVE_LIMITS.heartbeatBatchMax} instances. The answer lists the instances the registry does not hold: register them again.`,
  tag: TAG,
  body: heartbeatBatchBody,
  response: heartbeatBatchAnswer,
  errors: [...COMMON_ERRORS, 'PAYLOAD_TOO_LARGE'],
  access: WRITE,
  namespaces: ({ body }) => [...new Set(body.instances.map((i) => i.namespace))],
  async handler({ body }, { registry }) {
    const { known, unknown } = renewKnown(registry, body.instances.map(keyOf));
    return { revision: registry.revision, renewed: known.length, unknown };
  },
});

export const INSTANCE_ROUTES = [register, deregister, update, getInstance, heartbeat, heartbeatBatch];
