import type { ZoneCount } from '../../src/federation/federated-view.js';

/**
 * What a service's zone shares become when zone weights change, computed in the browser from the
 * counts the page already has, so the operator sees the effect before the federation reports it.
 *
 * A zone's share is proportional to (its traffic mass) x (its zone weight), in flat mode (summed
 * weights of healthy, enabled instances) and in locality mode (the healthy-ratio factor) alike. For
 * a zone with weight > 0 its mass is share / weight, exactly. A drained zone (weight 0) has no
 * share to read its mass from: it is estimated from its healthy instances, at the mass per healthy
 * instance of the other zones, and the preview says it is an estimate.
 */

export interface SharePreview {
  readonly shares: Readonly<Record<string, number>>;
  /** True when a drained zone's mass had to be estimated. */
  readonly estimated: boolean;
}

export function previewShares(
  zones: Readonly<Record<string, ZoneCount>>,
  weightsNow: ReadonlyMap<string, number>,
  weightsNext: ReadonlyMap<string, number>,
): SharePreview {
  const names = Object.keys(zones);
  const mass = new Map<string, number>();
  let knownMass = 0;
  let knownHealthy = 0;
  for (const z of names) {
    const count = zones[z]!;
    const w = weightsNow.get(z) ?? 100;
    if (w > 0) {
      const m = count.share / w;
      mass.set(z, m);
      if (count.healthy > 0) {
        knownMass += m;
        knownHealthy += count.healthy;
      }
    }
  }
  let estimated = false;
  const perHealthy = knownHealthy > 0 && knownMass > 0 ? knownMass / knownHealthy : 1;
  for (const z of names) {
    if (mass.has(z)) continue;
    const healthy = zones[z]!.healthy;
    if (healthy > 0 && (weightsNext.get(z) ?? 100) > 0) estimated = true;
    mass.set(z, healthy * perHealthy);
  }
  let sum = 0;
  const raw = new Map<string, number>();
  for (const z of names) {
    const v = (mass.get(z) ?? 0) * (weightsNext.get(z) ?? weightsNow.get(z) ?? 100);
    raw.set(z, v);
    sum += v;
  }
  const shares: Record<string, number> = {};
  for (const z of names) shares[z] = sum > 0 ? (raw.get(z) ?? 0) / sum : 0;
  return { shares, estimated };
}
