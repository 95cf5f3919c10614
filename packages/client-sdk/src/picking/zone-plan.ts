import type { ZonePolicy } from './zone-policy.js';

/** What one zone holds of a service, counting only instances in traffic (enabled, weight > 0). */
export interface ZoneHealth {
  readonly zone: string;
  /** Instances present in the view. */
  readonly total: number;
  /** Healthy in the registry's view and not ejected by this client. */
  readonly healthy: number;
  /**
   * Instances that left the view recently without a replacement (see ZonePicker): a zone whose
   * instances crash loses capacity even though the registry forgets them, so they count as unhealthy.
   */
  readonly departed: number;
  /** Weight of the instances present. */
  readonly totalWeight: number;
  readonly healthyWeight: number;
}

/**
 * - `local`: every call stays in the caller's zone.
 * - `spill`: the local zone keeps part of the calls, other zones take the rest.
 * - `remote`: the local zone has nothing healthy (or no instances): calls go to other zones.
 * - `panic`: too few healthy instances overall; balance over all of them, healthy or not.
 * - `empty`: no instance in traffic anywhere.
 */
export type ZoneMode = 'local' | 'spill' | 'remote' | 'panic' | 'empty';

export interface ZoneShare {
  readonly zone: string;
  /** The fraction of calls this zone gets, in (0, 1]. */
  readonly share: number;
  readonly local: boolean;
}

export interface ZonePlan {
  readonly mode: ZoneMode;
  /** Zones with a positive share, the local zone first; shares sum to 1 (or the list is empty). */
  readonly shares: readonly ZoneShare[];
  readonly localShare: number;
  /** In panic, unhealthy instances are candidates too. */
  readonly includeUnhealthy: boolean;
  /** Why, in a sentence a person can act on. */
  readonly reason: string;
}

/**
 * The local zone's availability: its healthy ratio, capped by `healthy / minHealthy` so that a zone
 * with one healthy instance out of one is not treated as a fully healthy zone.
 */
export function availability(z: ZoneHealth | undefined, minHealthy: number): number {
  const n = z === undefined ? 0 : z.total + z.departed;
  if (z === undefined || n === 0) return 0;
  return Math.min(1, z.healthy / n, z.healthy / minHealthy);
}

/** Decides how calls to one service are shared between zones. Pure: same inputs, same plan. */
export function planZones(zones: readonly ZoneHealth[], policy: ZonePolicy): ZonePlan {
  const local = zones.find((z) => z.zone === policy.localZone);
  const present = sum(zones, (z) => z.total);
  const total = present + sum(zones, (z) => z.departed);
  const healthy = sum(zones, (z) => z.healthy);
  if (present === 0) {
    return { mode: 'empty', shares: [], localShare: 0, includeUnhealthy: false, reason: 'no instance is in traffic' };
  }
  const localHealthy = local?.healthy ?? 0;
  const localTotal = (local?.total ?? 0) + (local?.departed ?? 0);
  const zoneFirst = localHealthy >= policy.minHealthy && localHealthy >= policy.spillRatio * localTotal;
  if (zoneFirst) {
    return {
      mode: 'local',
      shares: [{ zone: policy.localZone, share: 1, local: true }],
      localShare: 1,
      includeUnhealthy: false,
      reason: `${localHealthy} of ${localTotal} instances in ${policy.localZone} are healthy (need ${policy.minHealthy} and ${pct(policy.spillRatio)}): every call stays in the zone`,
    };
  }
  if (healthy === 0 || healthy < policy.panicRatio * total) return panicPlan(zones, policy, healthy, total);

  const localShare = Math.min(1, policy.overprovisioningFactor * availability(local, policy.minHealthy));
  const shares = new Map<string, number>();
  if (localShare > 0) shares.set(policy.localZone, localShare);
  let rest = 1 - localShare;
  const others = zones.filter((z) => z.zone !== policy.localZone && z.healthy > 0);
  for (const name of policy.zonePriority) {
    const z = others.find((o) => o.zone === name);
    if (z === undefined || rest <= 0) continue;
    const s = Math.min(rest, policy.overprovisioningFactor * availability(z, policy.minHealthy));
    if (s > 0) shares.set(name, s);
    rest -= s;
  }
  const unlisted = others.filter((z) => !policy.zonePriority.includes(z.zone));
  const unlistedWeight = sum(unlisted, (z) => z.healthyWeight);
  if (rest > 0 && unlistedWeight > 0) {
    for (const z of unlisted) if (z.healthyWeight > 0) shares.set(z.zone, (rest * z.healthyWeight) / unlistedWeight);
    rest = 0;
  }
  // The listed zones could not take everything and nothing else can: scale up (Envoy normalizes too).
  const assigned = 1 - rest;
  const list: ZoneShare[] = [...shares].map(([zone, s]) => ({
    zone,
    share: s / assigned,
    local: zone === policy.localZone,
  }));
  const localFinal = list.find((s) => s.local)?.share ?? 0;
  const mode = localFinal === 0 ? 'remote' : localFinal >= 1 ? 'local' : 'spill';
  return {
    mode,
    shares: list,
    localShare: localFinal,
    includeUnhealthy: false,
    reason: spillReason(policy, local, localFinal),
  };
}

function panicPlan(zones: readonly ZoneHealth[], policy: ZonePolicy, healthy: number, total: number): ZonePlan {
  const weight = sum(zones, (z) => z.totalWeight);
  const shares = zones
    .filter((z) => z.totalWeight > 0)
    .map((z) => ({ zone: z.zone, share: z.totalWeight / weight, local: z.zone === policy.localZone }))
    .sort((a, b) => Number(b.local) - Number(a.local));
  return {
    mode: 'panic',
    shares,
    localShare: shares.find((s) => s.local)?.share ?? 0,
    includeUnhealthy: true,
    reason: `panic: only ${healthy} of ${total} instances are healthy (below ${pct(policy.panicRatio)}): balancing over all of them, healthy or not`,
  };
}

function spillReason(policy: ZonePolicy, local: ZoneHealth | undefined, localShare: number): string {
  if (local === undefined || local.total + local.departed === 0) {
    return `no instance in ${policy.localZone}: every call goes to other zones`;
  }
  const gone = local.departed > 0 ? `, ${local.departed} recently gone` : '';
  const counts = `${local.healthy} of ${local.total + local.departed} instances in ${policy.localZone} are healthy${gone} (need ${policy.minHealthy} and ${pct(policy.spillRatio)})`;
  if (localShare === 0) return `${counts}: every call goes to other zones`;
  if (localShare >= 1) return `${counts}, but no other zone has a healthy instance: every call stays in the zone`;
  return `${counts}: ${pct(localShare)} of calls stay in the zone (${policy.overprovisioningFactor} × availability), the rest spill`;
}

function sum<T>(items: readonly T[], f: (t: T) => number): number {
  let s = 0;
  for (const item of items) s += f(item);
  return s;
}

function pct(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}
