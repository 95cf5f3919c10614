import { z } from 'zod';

/**
 * The registry's data model: namespace > group > service > cluster > instance. Schemas validate at
 * the edge (every API surface parses into these); inside, the types are trusted.
 */

export const DEFAULT_NAMESPACE = 'public';
export const DEFAULT_GROUP = 'DEFAULT_GROUP';
export const DEFAULT_CLUSTER = 'DEFAULT';

/** Bounds on everything a client can send, each refused with a clear 4xx. */
export const LIMITS = {
  nameLengthMax: 255,
  metadataEntriesMax: 64,
  metadataKeyLengthMax: 128,
  metadataValueLengthMax: 1024,
  weightMax: 10_000,
} as const;

/** Names of namespaces, groups, services: printable, no path or separator tricks. */
const NAME = /^[A-Za-z0-9_.:-]+$/;
export const nameSchema = z
  .string()
  .min(1)
  .max(LIMITS.nameLengthMax)
  .regex(NAME, 'may contain letters, digits and _ . : - only');
/** Nacos restricts cluster names further. */
export const clusterNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[0-9a-zA-Z-]+$/, 'may contain letters, digits and - only');

export const metadataSchema = z
  .record(z.string().min(1).max(LIMITS.metadataKeyLengthMax), z.string().max(LIMITS.metadataValueLengthMax))
  .refine((m) => Object.keys(m).length <= LIMITS.metadataEntriesMax, {
    message: `at most ${LIMITS.metadataEntriesMax} metadata entries`,
  })
  .refine((m) => !Object.keys(m).some((k) => k === '__proto__' || k === 'constructor' || k === 'prototype'), {
    message: 'metadata keys __proto__, constructor and prototype are not allowed',
  });
export type Metadata = Readonly<Record<string, string>>;

export const ipSchema = z.union([
  z.ipv4(),
  z.ipv6(),
  z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'not an IP or host name'),
]);

/** How an ephemeral instance stays alive: renewals every interval; unhealthy, then removed, when they stop. */
export const heartbeatSchema = z
  .object({
    intervalMs: z.number().int().min(100).max(600_000),
    unhealthyAfterMs: z.number().int().min(100).max(3_600_000),
    expireAfterMs: z.number().int().min(100).max(86_400_000),
  })
  .refine((h) => h.unhealthyAfterMs >= h.intervalMs && h.expireAfterMs >= h.unhealthyAfterMs, {
    message: 'need intervalMs <= unhealthyAfterMs <= expireAfterMs',
  });
export type Heartbeat = z.infer<typeof heartbeatSchema>;

/** cairn's own defaults, faster than Nacos's 5 s / 15 s / 30 s. */
export const DEFAULT_HEARTBEAT: Heartbeat = { intervalMs: 1000, unhealthyAfterMs: 3000, expireAfterMs: 30_000 };
/** Nacos's defaults, for instances registered through the Nacos API. */
export const NACOS_HEARTBEAT: Heartbeat = { intervalMs: 5000, unhealthyAfterMs: 15_000, expireAfterMs: 30_000 };

/** An active health check the registry runs against the instance. */
export const checkSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('tcp'),
    intervalMs: z.number().int().min(200).max(300_000).default(2000),
    timeoutMs: z.number().int().min(50).max(60_000).default(1000),
    rise: z.number().int().min(1).max(10).default(2),
    fall: z.number().int().min(1).max(10).default(3),
  }),
  z.object({
    type: z.literal('http'),
    path: z.string().startsWith('/').max(1024).default('/'),
    expectStatus: z.number().int().min(100).max(599).default(200),
    intervalMs: z.number().int().min(200).max(300_000).default(2000),
    timeoutMs: z.number().int().min(50).max(60_000).default(1000),
    rise: z.number().int().min(1).max(10).default(2),
    fall: z.number().int().min(1).max(10).default(3),
  }),
]);
export type Check = z.infer<typeof checkSchema>;

/** Who keeps an ephemeral instance alive: its own heartbeats, or the SDK session it belongs to. */
export type Lease = { readonly kind: 'instance' } | { readonly kind: 'session'; readonly sessionId: string };

/** Identifies an instance within the registry. */
export interface InstanceKey {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
  readonly cluster: string;
  readonly ip: string;
  readonly port: number;
}

export interface Instance extends InstanceKey {
  /** `ip#port#cluster#group@@service`, as Nacos names instances. */
  readonly id: string;
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  /** The zone of the registry the instance registered in. */
  readonly zone: string;
  readonly metadata: Metadata;
  readonly heartbeat: Heartbeat;
  readonly lease: Lease | null;
  readonly check: Check | null;
  readonly registeredAt: number;
  readonly updatedAt: number;
  /** The revision (Raft index) of the instance's last change. */
  readonly revision: number;
}

export interface ServiceKey {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
}

export interface ServiceInfo extends ServiceKey {
  readonly protectThreshold: number;
  readonly metadata: Metadata;
  readonly createdAt: number;
  readonly revision: number;
}

export interface Namespace {
  readonly id: string;
  readonly name: string;
  readonly description: string;
}

/** Just the key fields of an instance (or of anything that carries them). */
export function instanceKeyOf(k: InstanceKey): InstanceKey {
  return { namespace: k.namespace, group: k.group, service: k.service, cluster: k.cluster, ip: k.ip, port: k.port };
}

export function serviceKeyOf(k: ServiceKey): string {
  return `${k.namespace}/${k.group}/${k.service}`;
}

export function instanceIdOf(k: InstanceKey): string {
  return `${k.ip}#${k.port}#${k.cluster}#${k.group}@@${k.service}`;
}

/** The key of an instance's own lease: its id is unique only within a namespace. */
export function leaseIdOf(k: InstanceKey): string {
  return `${k.namespace}/${instanceIdOf(k)}`;
}
