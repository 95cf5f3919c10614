import { createHash } from 'node:crypto';
import type { Instance } from '../../registry/model.js';
import type { RegistryState } from '../../registry/registry-state.js';
import { hostJson } from './nacos-json.js';
import { GROUP_SEPARATOR, javaSplit, type NacosServiceName } from './nacos-names.js';

/** What one `instance/list` read (or one UDP push) asks for. */
export interface InstanceListQuery {
  readonly namespace: string;
  readonly name: NacosServiceName;
  /** Exactly as the client sent it: echoed back, since clients key their caches by `name@@clusters`. */
  readonly clusters: string;
  readonly healthyOnly: boolean;
  /** How long the client may cache the answer before polling again. */
  readonly cacheMillis: number;
}

/**
 * The `instance/list` answer, as Nacos 2.x builds it for v1 clients (ServiceUtil
 * .selectInstancesWithHealthyProtection): instances of the requested clusters (all when none are
 * named), disabled ones left out; with `healthyOnly`, unhealthy ones left out too, unless the
 * protect threshold is reached: when healthy / total <= threshold (total > 0), every instance is
 * returned marked healthy and `reachProtectionThreshold` is true. With the default threshold 0 that
 * happens exactly when none is healthy.
 *
 * A service that does not exist answers an empty list, as Nacos does.
 */
export function instanceListJson(state: RegistryState, q: InstanceListQuery, nowMs: number): string {
  const key = { namespace: q.namespace, group: q.name.group, service: q.name.service };
  const threshold = Math.max(0, state.service(key)?.protectThreshold ?? 0);
  const clusters = q.clusters.trim() === '' ? null : new Set(javaSplit(q.clusters, ','));
  const all: Instance[] = [];
  let healthyCount = 0;
  for (const inst of state.instancesOf(key)) {
    if (!inst.enabled || (clusters && !clusters.has(inst.cluster))) continue;
    all.push(inst);
    if (inst.healthy) healthyCount++;
  }
  all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const protect = all.length > 0 && healthyCount / all.length <= threshold;
  const hosts = protect
    ? all.map((i) => hostJson(i, true))
    : all.filter((i) => !q.healthyOnly || i.healthy).map((i) => hostJson(i, i.healthy));
  const hostsJson = `[${hosts.join(',')}]`;
  const checksum = createHash('md5').update(hostsJson).digest('hex');
  return (
    `{"name":${JSON.stringify(`${q.name.group}${GROUP_SEPARATOR}${q.name.service}`)},` +
    `"groupName":${JSON.stringify(q.name.group)},"clusters":${JSON.stringify(q.clusters)},` +
    `"cacheMillis":${q.cacheMillis},"hosts":${hostsJson},"lastRefTime":${nowMs},"checksum":"${checksum}",` +
    `"allIPs":false,"reachProtectionThreshold":${protect},"valid":true}`
  );
}
