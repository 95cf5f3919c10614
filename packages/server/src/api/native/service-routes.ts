import type { FastifyReply, FastifyRequest } from 'fastify';
import { CairnError } from '../../errors.js';
import { type Instance, type ServiceKey, serviceKeyOf } from '../../registry/model.js';
import type { LongPollGate } from './long-poll.js';
import { defineRoute, READ_ERRORS, readPoint, WRITE_ERRORS } from './native-route.js';
import {
  NATIVE_LIMITS,
  revisionAnswer,
  serviceAnswer,
  serviceListAnswer,
  serviceListQuery,
  serviceParams,
  servicePatchBody,
  servicePutBody,
  serviceReadQuery,
  serviceWriteAnswer,
} from './native-schemas.js';
import { selectInstances } from './service-view.js';

/** List, read (with long-poll), create, update and delete services. */

const TAG = 'services';
const WRITE = { resource: 'service', action: 'write', public: false } as const;
const READ = { resource: 'service', action: 'read', public: false } as const;
const SERVICE_URL = '/v1/services/:namespace/:group/:service';

function keyOf(k: ServiceKey): ServiceKey {
  return { namespace: k.namespace, group: k.group, service: k.service };
}

function countsOf(instances: readonly Instance[]): { total: number; healthy: number } {
  return { total: instances.length, healthy: instances.reduce((n, i) => n + (i.healthy ? 1 : 0), 0) };
}

const listServices = defineRoute({
  method: 'GET',
  url: '/v1/services',
  operationId: 'listServices',
  summary: 'List the services of a namespace, paged',
  description: 'Sorted by group, then name. Filter by group and by a substring of the name.',
  tag: TAG,
  query: serviceListQuery,
  response: serviceListAnswer,
  errors: READ_ERRORS,
  access: READ,
  namespaces: ({ query }) => [query.namespace],
  async handler({ query }, { registry }) {
    await readPoint(registry, query.consistent);
    const state = registry.state;
    const all = state.listServices({
      namespace: query.namespace,
      ...(query.group !== undefined ? { group: query.group } : {}),
      ...(query.name !== undefined ? { nameContains: query.name } : {}),
    });
    const start = (query.pageNo - 1) * query.pageSize;
    const services = all
      .slice(start, start + query.pageSize)
      .map((s) => ({ ...s, instances: countsOf(state.instancesOf(s)) }));
    return { revision: registry.revision, total: all.length, pageNo: query.pageNo, pageSize: query.pageSize, services };
  },
});

/** Holds a long-poll until the service changes after `waitIndex`, the wait elapses, or the client leaves. */
async function longPoll(
  longPolls: LongPollGate,
  service: ServiceKey,
  waitIndex: number,
  waitMs: number,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const socket = req.raw.socket;
  // The server's idle timeout must not cut a poll that is legitimately silent for up to its wait.
  const socketTimeoutMs = waitMs + 10_000;
  if (socket && (socket.timeout ?? 0) > 0 && (socket.timeout ?? 0) < socketTimeoutMs)
    socket.setTimeout(socketTimeoutMs);
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  reply.raw.once('close', onClose);
  try {
    await longPolls.wait(service, waitIndex, waitMs, gone.signal);
  } finally {
    reply.raw.off('close', onClose);
  }
}

const getService = defineRoute({
  method: 'GET',
  url: SERVICE_URL,
  operationId: 'getService',
  summary: 'Read a service with its instances (long-poll with waitIndex)',
  description:
    'Filters: healthyOnly, clusters, labels (metadata key:value pairs). Protect threshold: when healthy/total ' +
    'among the matching instances is at or below the service threshold, every instance is returned as healthy ' +
    'and `protectThresholdReached` is true. Long-poll: with `waitIndex=R` the answer is held until the service ' +
    'changes at a revision above R, or until `wait` elapses (default 30s, at most 60s); either way it carries the ' +
    'current state and revision, to pass as the next waitIndex. NOT_FOUND when the service does not exist (after ' +
    'the wait, so a client can wait for a service to appear); the X-Cairn-Revision header carries the revision.',
  tag: TAG,
  params: serviceParams,
  query: serviceReadQuery,
  response: serviceAnswer,
  errors: [...READ_ERRORS, 'NOT_FOUND', 'RATE_LIMITED'],
  access: READ,
  namespaces: ({ params }) => [params.namespace],
  async handler({ params, query }, { registry, longPolls, req, reply }) {
    const key = keyOf(params);
    await readPoint(registry, query.consistent);
    if (query.waitIndex !== undefined) {
      await longPoll(longPolls, key, query.waitIndex, query.wait ?? NATIVE_LIMITS.waitMsDefault, req, reply);
    }
    const state = registry.state;
    const revision = registry.revision;
    const info = state.service(key);
    if (!info) throw new CairnError('NOT_FOUND', `no service ${serviceKeyOf(key)}`);
    const selection = selectInstances(info, state.instancesOf(key), {
      healthyOnly: query.healthyOnly ?? false,
      ...(query.clusters ? { clusters: query.clusters } : {}),
      ...(query.labels ? { labels: query.labels } : {}),
    });
    return {
      revision,
      service: info,
      instances: selection.instances,
      counts: selection.counts,
      protectThresholdReached: selection.protectThresholdReached,
    };
  },
});

const putService = defineRoute({
  method: 'PUT',
  url: SERVICE_URL,
  operationId: 'putService',
  summary: 'Create a service, or replace its settings',
  description:
    'Idempotent. Services are also created implicitly by the first registration, with threshold 0 and no metadata.',
  tag: TAG,
  params: serviceParams,
  body: servicePutBody,
  response: serviceWriteAnswer,
  errors: [...WRITE_ERRORS, 'NOT_FOUND'],
  access: WRITE,
  bodyLimitBytes: NATIVE_LIMITS.writeBodyBytesMax,
  namespaces: ({ params }) => [params.namespace],
  async handler({ params, body }, { registry, quota }) {
    const key = keyOf(params);
    const service = { ...key, protectThreshold: body.protectThreshold, metadata: body.metadata };
    quota.admit({ op: 'service.put', service });
    const { revision } = await registry.execute({ op: 'service.put', service });
    return { revision, service: serviceAfterWrite(registry.state.service(key), key) };
  },
});

const patchService = defineRoute({
  method: 'PATCH',
  url: SERVICE_URL,
  operationId: 'updateService',
  summary: "Update a service's protect threshold or metadata",
  description:
    'Fields left out keep their value (read at a linearizable point first); `metadata` replaces the whole map. ' +
    'Two concurrent PATCHes of different fields may overwrite each other; use PUT to set both at once.',
  tag: TAG,
  params: serviceParams,
  body: servicePatchBody,
  response: serviceWriteAnswer,
  errors: [...WRITE_ERRORS, 'NOT_FOUND'],
  access: WRITE,
  bodyLimitBytes: NATIVE_LIMITS.writeBodyBytesMax,
  namespaces: ({ params }) => [params.namespace],
  async handler({ params, body }, { registry, quota }) {
    const key = keyOf(params);
    await registry.barrier();
    const cur = registry.state.service(key);
    if (!cur) throw new CairnError('NOT_FOUND', `no service ${serviceKeyOf(key)}`);
    const service = {
      ...key,
      protectThreshold: body.protectThreshold ?? cur.protectThreshold,
      metadata: body.metadata ?? cur.metadata,
    };
    quota.admit({ op: 'service.put', service });
    const { revision } = await registry.execute({ op: 'service.put', service });
    return { revision, service: serviceAfterWrite(registry.state.service(key), key) };
  },
});

const deleteService = defineRoute({
  method: 'DELETE',
  url: SERVICE_URL,
  operationId: 'deleteService',
  summary: 'Delete a service',
  description: 'CONFLICT while the service still has instances: deregister them first.',
  tag: TAG,
  params: serviceParams,
  response: revisionAnswer,
  errors: [...WRITE_ERRORS, 'NOT_FOUND', 'CONFLICT'],
  access: WRITE,
  namespaces: ({ params }) => [params.namespace],
  async handler({ params }, { registry }) {
    const { revision } = await registry.execute({ op: 'service.delete', key: keyOf(params) });
    return { revision };
  },
});

function serviceAfterWrite<T>(info: T | undefined, key: ServiceKey): T {
  // Applied here before execute() resolved; only a delete racing in between removes it again.
  if (!info) throw new CairnError('CONFLICT', `service ${serviceKeyOf(key)} was deleted concurrently`);
  return info;
}

export const SERVICE_ROUTES = [listServices, getService, putService, patchService, deleteService];
