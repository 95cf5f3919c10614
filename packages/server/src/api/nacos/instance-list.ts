import type { RegistryState } from '../../registry/registry-state.js';
import { type InstanceListQuery, instanceListAnswerJson, listedInstances } from './instance-list-answer.js';
import { hostJson } from './nacos-json.js';

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
  const { all, healthyCount } = listedInstances(state.instancesOf(key), q);
  all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const protect = all.length > 0 && healthyCount / all.length <= threshold;
  const hosts = protect
    ? all.map((i) => hostJson(i, true))
    : all.filter((i) => !q.healthyOnly || i.healthy).map((i) => hostJson(i, i.healthy));
  return instanceListAnswerJson(q, hosts, protect, nowMs);
}
