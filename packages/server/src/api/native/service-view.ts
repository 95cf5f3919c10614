import type { Instance, ServiceInfo } from '../../registry/model.js';

/** How a reader narrows a service's instances. */
export interface InstanceFilter {
  readonly healthyOnly: boolean;
  /** Only these clusters (all when undefined or empty). */
  readonly clusters?: readonly string[];
  /** Metadata every returned instance must carry, key -> exact value. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface ServiceSelection {
  readonly instances: Instance[];
  /** Instances matching the cluster and label filters, before `healthyOnly`. */
  readonly counts: { readonly total: number; readonly healthy: number };
  readonly protectThresholdReached: boolean;
}

/**
 * The instances a reader gets, with Nacos's protect threshold: when healthy/total among the matching
 * instances is at or below the service's threshold, every matching instance is returned as healthy,
 * so that a mass failure (or a health-check outage) does not pile all traffic onto the few survivors.
 * Disabled instances are taken out of traffic by an operator and never returned by `healthyOnly`.
 */
export function selectInstances(
  service: ServiceInfo,
  all: readonly Instance[],
  filter: InstanceFilter,
): ServiceSelection {
  const clusters = filter.clusters && filter.clusters.length > 0 ? new Set(filter.clusters) : null;
  const labels = filter.labels ? Object.entries(filter.labels) : [];
  const matching = all.filter(
    (i) => (clusters === null || clusters.has(i.cluster)) && labels.every(([k, v]) => i.metadata[k] === v),
  );
  const healthy = matching.reduce((n, i) => n + (i.healthy ? 1 : 0), 0);
  const reached = protectThresholdReached(healthy, matching.length, service.protectThreshold);
  let instances = reached ? matching.map((i) => (i.healthy ? i : { ...i, healthy: true })) : matching;
  if (filter.healthyOnly) instances = instances.filter((i) => i.healthy && i.enabled);
  instances.sort(byAddress);
  return { instances, counts: { total: matching.length, healthy }, protectThresholdReached: reached };
}

/** Nacos's rule, `healthy / total <= threshold`, for a service that has instances at all. */
export function protectThresholdReached(healthy: number, total: number, threshold: number): boolean {
  return total > 0 && healthy / total <= threshold;
}

/** A stable order, so that identical states give identical answers. */
function byAddress(a: Instance, b: Instance): number {
  return a.cluster.localeCompare(b.cluster) || a.ip.localeCompare(b.ip) || a.port - b.port;
}
