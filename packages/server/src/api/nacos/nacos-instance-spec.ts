import type { RegisterSpec } from '../../registry/commands.js';
import {
  type Check,
  checkSchema,
  clusterNameSchema,
  DEFAULT_CLUSTER,
  type InstanceKey,
  ipSchema,
  type Metadata,
} from '../../registry/model.js';
import { heartbeatOf } from './nacos-heartbeat.js';
import { parseNacosMetadata } from './nacos-metadata.js';
import type { NacosServiceName } from './nacos-names.js';
import { badRequest, type NacosParams, parseJavaDouble, parseJavaInt, toBoolean } from './nacos-params.js';
import { cairnWeightOf } from './nacos-weight.js';

/**
 * How an instance registered through the Nacos API becomes a cairn instance. Parameters and defaults
 * are Nacos's (HttpRequestInstanceBuilder): weight 1.0, healthy, enabled (`enabled`, else `enable`),
 * ephemeral, cluster DEFAULT (`clusterName`, else `cluster`), metadata as JSON or `k=v,k2=v2`.
 */
export interface NacosInstanceInput {
  readonly key: InstanceKey;
  /** cairn's integer weight (see nacos-weight.ts). */
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  readonly metadata: Metadata;
}

/** The key parts every instance route reads: ip, port, cluster. */
export function instanceKeyOf(params: NacosParams, namespace: string, name: NacosServiceName): InstanceKey {
  const ip = params.required('ip').trim();
  if (!ipSchema.safeParse(ip).success) throw badRequest(`invalid instance ip: ${ip}`);
  const port = portOf(params.required('port'));
  const cluster = clusterOf(params.firstOf(['clusterName', 'cluster']) ?? DEFAULT_CLUSTER);
  return { namespace, group: name.group, service: name.service, cluster, ip, port };
}

export function instanceInputOf(params: NacosParams, namespace: string, name: NacosServiceName): NacosInstanceInput {
  return {
    key: instanceKeyOf(params, namespace, name),
    weight: cairnWeightOf(parseJavaDouble(params.optional('weight', '1'))),
    healthy: toBoolean(params.optional('healthy', 'true')),
    enabled: toBoolean(params.firstOf(['enabled', 'enable']) ?? 'true'),
    ephemeral: toBoolean(params.optional('ephemeral', 'true')),
    metadata: parseNacosMetadata(params.optional('metadata', '')),
  };
}

export function portOf(raw: string): number {
  const port = parseJavaInt(raw.trim());
  if (port < 0 || port > 65_535) throw badRequest(`Param 'port' is illegal, ${port} is not a port (0-65535)`);
  return port;
}

export function clusterOf(cluster: string): string {
  if (!clusterNameSchema.safeParse(cluster).success) {
    throw badRequest(`Instance 'clusterName' should be characters with only 0-9a-zA-Z-. (current: ${cluster})`);
  }
  return cluster;
}

/**
 * Ephemeral instances hold their own lease, renewed by beats, with Nacos's heartbeat settings.
 * Persistent ones have no lease and, as in Nacos (whose clusters TCP-check persistent instances by
 * default), get a TCP check against their port, which only ever changes their health.
 */
export function registerSpecOf(input: NacosInstanceInput, zone: string): RegisterSpec {
  return {
    ...input.key,
    weight: input.weight,
    healthy: input.healthy,
    enabled: input.enabled,
    ephemeral: input.ephemeral,
    zone,
    metadata: input.metadata,
    heartbeat: heartbeatOf(input.metadata),
    lease: input.ephemeral ? { kind: 'instance' } : null,
    check: input.ephemeral ? null : PERSISTENT_CHECK,
  };
}

const PERSISTENT_CHECK: Check = checkSchema.parse({ type: 'tcp' });
