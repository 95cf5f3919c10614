import {
  type InstanceListQuery,
  instanceListAnswerJson,
  listedInstances,
} from '../../api/nacos/instance-list-answer.js';
import { hostJson, instanceDetailJson } from '../../api/nacos/nacos-json.js';
import type { FederatedInstance, FederatedService, FederatedView } from '../federated-view.js';

/** Metadata keys the federation adds to every host it answers (they override the instance's own). */
export const ZONE_METADATA_KEY = 'cairn.zone';
export const STALE_METADATA_KEY = 'cairn.stale';

/** An instance as the zone API's Nacos JSON writers take it. */
type NacosHost = Parameters<typeof hostJson>[0];

/**
 * An instance as a Nacos host: its weight is its effective weight on the zone API's scale
 * (Nacos weight = cairn weight / 100, see api/nacos/nacos-weight.ts), so a balancer reading
 * Nacos weights splits traffic as the federation decided; its metadata names its zone and whether
 * that zone is stale (kept by the fail-static policy).
 */
export function nacosHostOf(inst: FederatedInstance, weight: number): NacosHost {
  return {
    ...inst,
    weight,
    lease: null,
    metadata: { ...inst.metadata, [ZONE_METADATA_KEY]: inst.zone, [STALE_METADATA_KEY]: String(inst.stale) },
  };
}

/**
 * The `instance/list` answer over every serving zone, shaped as the zone's (api/nacos/instance-list.ts):
 * hosts of the requested clusters (all when none are named), disabled ones left out, in the view's
 * order (zone by configuration order, then id). Weights are effective weights. With `healthyOnly`,
 * hosts that take no traffic (effective weight 0: unhealthy, or their zone drained) are left out,
 * unless the service's protect threshold is reached (healthy / total <= threshold, total > 0): then
 * every host is returned marked healthy, and one whose effective weight is 0 only because it is
 * unhealthy gets its flat weight (weight x zone weight / 100), as Nacos sends traffic to all of them.
 * A service that does not exist answers an empty list, as Nacos does.
 */
export function federatedListJson(view: FederatedView, q: InstanceListQuery, nowMs: number): string {
  const svc = view.service({ namespace: q.namespace, group: q.name.group, service: q.name.service });
  const { all, healthyCount } = listedInstances(svc?.instances ?? [], q);
  const threshold = Math.max(0, svc?.info?.protectThreshold ?? 0);
  const protect = all.length > 0 && healthyCount / all.length <= threshold;
  let hosts: string[];
  if (protect) {
    const zoneWeights = new Map(view.zones().map((z) => [z.zone, z.weight]));
    hosts = all.map((i) => {
      const flat = Math.round((i.weight * (zoneWeights.get(i.zone) ?? 0)) / 100);
      return hostJson(nacosHostOf(i, i.effectiveWeight > 0 ? i.effectiveWeight : flat), true);
    });
  } else {
    hosts = all
      .filter((i) => !q.healthyOnly || (i.healthy && i.effectiveWeight > 0))
      .map((i) => hostJson(nacosHostOf(i, i.effectiveWeight), i.healthy));
  }
  return instanceListAnswerJson(q, hosts, protect, nowMs);
}

/** `GET /nacos/v1/ns/instance`: one host in detail, weight effective, metadata with its zone. */
export function federatedDetailJson(inst: FederatedInstance): string {
  return instanceDetailJson(nacosHostOf(inst, inst.effectiveWeight));
}

/** The first instance (in zone configuration order) at ip:port in a cluster of the service. */
export function findInstance(
  svc: FederatedService,
  key: { readonly cluster: string; readonly ip: string; readonly port: number },
): FederatedInstance | undefined {
  return svc.instances.find((i) => i.cluster === key.cluster && i.ip === key.ip && i.port === key.port);
}
