import { EFFECTIVE_WEIGHT_MAX } from '../federated-view.js';

/**
 * How the merged view turns instance weights (0-10000) and zone weights (0-100) into the weight a
 * balancer should use. Pure functions; the view keeps the per-zone sums they need.
 */

/** Zone weight when the zone's registry stores none. */
export const DEFAULT_ZONE_WEIGHT = 100;

export interface WeightedInstance {
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
}

/** Takes traffic when healthy and enabled (weight aside). */
export function isAvailable(i: WeightedInstance): boolean {
  return i.healthy && i.enabled;
}

function clampWeight(w: number): number {
  return Math.min(EFFECTIVE_WEIGHT_MAX, Math.max(0, w));
}

/**
 * `flat`: round(weight x zoneWeight / 100) for a healthy, enabled instance of a serving zone, else 0.
 */
export function flatEffectiveWeight(i: WeightedInstance, zoneWeight: number, zoneServing: boolean): number {
  if (!zoneServing || zoneWeight <= 0 || !isAvailable(i)) return 0;
  return clampWeight(Math.round((i.weight * zoneWeight) / 100));
}

/** One zone's part of one service, as the locality merge sees it. */
export interface LocalityZone {
  readonly zoneWeight: number;
  readonly serving: boolean;
  /** Instances of the service in the zone. */
  readonly total: number;
  /** Healthy and enabled ones. */
  readonly available: number;
  /** Sum of the available instances' weights. */
  readonly availableWeight: number;
  /** Largest weight among the available instances. */
  readonly availableWeightMax: number;
}

/**
 * `locality` (Envoy-style): zone factor = zoneWeight/100 x min(1, overprovisioning x available/total);
 * each zone's share of the service is its factor over the sum of factors; within a zone the share is
 * split by instance weight. Returns, per zone, the multiplier that turns an available instance's
 * weight into its effective weight (0: the zone gets nothing).
 *
 * Scale: shares are multiplied by the summed (zone-weighted) weight of the service, so a healthy
 * service gets the same numbers as under `flat`; when that would exceed EFFECTIVE_WEIGHT_MAX the
 * largest instance is pinned to it instead.
 */
export function localityMultipliers(zones: readonly LocalityZone[], overprovisioning: number): number[] {
  const factors = zones.map((z) =>
    z.serving && z.zoneWeight > 0 && z.total > 0 && z.availableWeight > 0
      ? (z.zoneWeight / 100) * Math.min(1, (overprovisioning * z.available) / z.total)
      : 0,
  );
  const factorSum = factors.reduce((a, b) => a + b, 0);
  if (factorSum <= 0) return zones.map(() => 0);
  let weightTotal = 0;
  let shareMax = 0;
  const units = zones.map((z, i) => {
    const f = factors[i]!;
    if (f <= 0) return 0;
    const unit = f / factorSum / z.availableWeight;
    weightTotal += (z.availableWeight * z.zoneWeight) / 100;
    shareMax = Math.max(shareMax, unit * z.availableWeightMax);
    return unit;
  });
  const scale = shareMax > 0 ? Math.min(weightTotal, EFFECTIVE_WEIGHT_MAX / shareMax) : 0;
  return units.map((u) => u * scale);
}

/** An instance's effective weight under `locality`, given its zone's multiplier: at least 1 when its share is not 0. */
export function localityEffectiveWeight(i: WeightedInstance, multiplier: number): number {
  if (multiplier <= 0 || !isAvailable(i) || i.weight <= 0) return 0;
  return Math.max(1, clampWeight(Math.round(i.weight * multiplier)));
}
