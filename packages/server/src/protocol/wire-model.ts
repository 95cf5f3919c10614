import { z } from 'zod';
import {
  checkSchema,
  DEFAULT_CLUSTER,
  DEFAULT_GROUP,
  DEFAULT_NAMESPACE,
  heartbeatSchema,
  type Instance,
  ipSchema,
  nameSchema,
  clusterNameSchema as registryClusterNameSchema,
} from '../registry/model.js';

/**
 * The registry's objects as they travel in push messages. Servers send what the registry holds,
 * minus internals (an instance's lease, which would reveal session ids); clients parse leniently
 * (unknown fields are dropped) so that fields added later do not break them.
 */

/** A service as clients name it; namespace and group default like everywhere else in cairn. */
export const serviceRefSchema = z.object({
  namespace: nameSchema.default(DEFAULT_NAMESPACE),
  group: nameSchema.default(DEFAULT_GROUP),
  service: nameSchema,
});
export type ServiceRef = z.output<typeof serviceRefSchema>;

/** One instance of a service, as clients name it (for deregistration). */
export const instanceRefSchema = serviceRefSchema.extend({
  cluster: registryClusterNameSchema.default(DEFAULT_CLUSTER),
  ip: ipSchema,
  port: z.number().int().min(1).max(65_535),
});
export type InstanceRef = z.output<typeof instanceRefSchema>;

const stringMap = z.record(z.string(), z.string());

export const wireInstanceSchema = z.object({
  /** `ip#port#cluster#group@@service`, as Nacos names instances. */
  id: z.string(),
  namespace: z.string(),
  group: z.string(),
  service: z.string(),
  cluster: z.string(),
  ip: z.string(),
  port: z.number().int(),
  weight: z.number(),
  healthy: z.boolean(),
  enabled: z.boolean(),
  ephemeral: z.boolean(),
  /** The zone of the registry the instance registered in. */
  zone: z.string(),
  metadata: stringMap,
  heartbeat: heartbeatSchema,
  check: checkSchema.nullable(),
  registeredAt: z.number(),
  updatedAt: z.number(),
  /** The revision of the instance's last change. */
  revision: z.number().int(),
});
export type WireInstance = z.infer<typeof wireInstanceSchema>;

export const wireServiceSchema = z.object({
  namespace: z.string(),
  group: z.string(),
  service: z.string(),
  protectThreshold: z.number(),
  metadata: stringMap,
  createdAt: z.number(),
  revision: z.number().int(),
});
export type WireService = z.infer<typeof wireServiceSchema>;

export const wireNamespaceSchema = z.object({ id: z.string(), name: z.string(), description: z.string() });
export type WireNamespace = z.infer<typeof wireNamespaceSchema>;

/** A zone's traffic weight (0-100) for the federation's merged view. */
export const zoneWeightSchema = z.object({ zone: z.string(), weight: z.number() });
export type ZoneWeight = z.infer<typeof zoneWeightSchema>;

const action = z.enum(['put', 'delete']);
const revision = z.number().int().min(0);

/**
 * One change, tagged with the revision (Raft index) that made it. `put` carries the whole new
 * object and `delete` the last one, so applying a change twice is harmless.
 */
export const wireChangeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('instance'), action, revision, instance: wireInstanceSchema }),
  z.object({ kind: z.literal('service'), action, revision, service: wireServiceSchema }),
  z.object({ kind: z.literal('namespace'), action, revision, namespace: wireNamespaceSchema }),
  z.object({ kind: z.literal('zoneWeight'), revision, zone: z.string(), weight: z.number() }),
]);
export type WireChange = z.infer<typeof wireChangeSchema>;

/**
 * A refusal, on either socket. `code` is one of the stable error codes of the REST API
 * (VALIDATION_FAILED, NOT_FOUND, CONFLICT, NO_LEADER, RATE_LIMITED, ...); `sub` or `reqId` names the
 * request it answers, when it answers one.
 */
export const errorMessageSchema = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  sub: z.string().optional(),
  reqId: z.number().optional(),
});
export type ErrorMessage = z.infer<typeof errorMessageSchema>;

/** What the server says first on every socket: who it is, where it is, and the limits it applies. */
export const helloMessageSchema = z.object({
  type: z.literal('hello'),
  protocol: z.number().int(),
  zone: z.string(),
  node: z.string(),
  revision,
  limits: z.record(z.string(), z.number()),
});
export type HelloMessage = z.infer<typeof helloMessageSchema>;

/** An instance as it goes on the wire: everything but its lease. */
export function toWireInstance(inst: Instance): WireInstance {
  const { lease: _lease, ...wire } = inst;
  return wire as WireInstance;
}
