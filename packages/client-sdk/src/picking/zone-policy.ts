import { CairnSdkError } from '../errors.js';

/**
 * When calls stay in the caller's zone, how they spill out of it, and when to stop trusting health.
 *
 * - Zone-first: the local zone has at least `minHealthy` healthy instances and at least `spillRatio`
 *   of its instances healthy, so every call stays local.
 * - Spill: below that, the local zone keeps `min(1, overprovisioningFactor × availability)` of the
 *   calls (Envoy's locality weighting), where availability is the healthy ratio, further capped by
 *   `healthy / minHealthy` so that one lone healthy instance is not treated as a healthy zone.
 *   The rest goes to `zonePriority` zones in order (each taking what its own availability allows),
 *   then to the other zones in proportion to their healthy weight.
 * - Panic: when fewer than `panicRatio` of all instances are healthy (and the local zone is not
 *   zone-first), health is not believed: calls are balanced over every instance.
 */
export interface ZonePolicy {
  readonly localZone: string;
  readonly minHealthy: number;
  readonly spillRatio: number;
  readonly overprovisioningFactor: number;
  readonly panicRatio: number;
  /** Zones to spill to first, in order; zones not listed come after, by healthy weight. */
  readonly zonePriority: readonly string[];
}

export interface ZonePolicyOptions {
  /** Healthy instances the local zone needs to keep every call (default 2). */
  readonly minHealthy?: number;
  /** Healthy ratio the local zone needs to keep every call (default 0.7). */
  readonly spillRatio?: number;
  /**
   * How much a degraded zone is trusted (default 1.4, Envoy's; or 1 / spillRatio when only
   * spillRatio is given and asks for less). `overprovisioningFactor × spillRatio` must not exceed 1,
   * or calls would stay local below spillRatio.
   */
  readonly overprovisioningFactor?: number;
  /** Below this share of healthy instances overall, balance over all of them (default 0.5). */
  readonly panicRatio?: number;
  readonly zonePriority?: readonly string[];
}

export const ZONE_POLICY_DEFAULTS = {
  minHealthy: 2,
  spillRatio: 0.7,
  overprovisioningFactor: 1.4,
  panicRatio: 0.5,
} as const;

export function resolveZonePolicy(localZone: string, opts: ZonePolicyOptions = {}): ZonePolicy {
  const minHealthy = opts.minHealthy ?? ZONE_POLICY_DEFAULTS.minHealthy;
  const spillRatio = opts.spillRatio ?? ZONE_POLICY_DEFAULTS.spillRatio;
  const overprovisioningFactor =
    opts.overprovisioningFactor ?? Math.min(ZONE_POLICY_DEFAULTS.overprovisioningFactor, 1 / spillRatio);
  const panicRatio = opts.panicRatio ?? ZONE_POLICY_DEFAULTS.panicRatio;
  const zonePriority = [...(opts.zonePriority ?? [])];
  const bad = (msg: string): never => {
    throw new CairnSdkError('INVALID_OPTIONS', msg);
  };
  if (localZone.length === 0) bad('zone must be a non-empty zone name (or set CAIRN_ZONE)');
  if (!Number.isInteger(minHealthy) || minHealthy < 1) bad(`minHealthy must be an integer >= 1, got ${minHealthy}`);
  if (!(spillRatio > 0 && spillRatio <= 1)) bad(`spillRatio must be in (0, 1], got ${spillRatio}`);
  if (!(overprovisioningFactor >= 1)) bad(`overprovisioningFactor must be >= 1, got ${overprovisioningFactor}`);
  if (overprovisioningFactor * spillRatio > 1 + 1e-9) {
    bad(
      `overprovisioningFactor × spillRatio must be <= 1 (got ${overprovisioningFactor} × ${spillRatio}); ` +
        `otherwise calls stay local below spillRatio. Use overprovisioningFactor <= ${(1 / spillRatio).toFixed(3)}`,
    );
  }
  if (!(panicRatio >= 0 && panicRatio <= 1)) bad(`panicRatio must be in [0, 1], got ${panicRatio}`);
  if (new Set(zonePriority).size !== zonePriority.length) bad('zonePriority names a zone twice');
  return { localZone, minHealthy, spillRatio, overprovisioningFactor, panicRatio, zonePriority };
}
