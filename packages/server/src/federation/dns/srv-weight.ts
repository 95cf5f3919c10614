/**
 * SRV weights HAProxy can use. HAProxy turns an SRV weight w into a server weight
 * floor((w + 255) / 256), 1..256, so a raw effective weight (up to 65535) would collapse: 100 and
 * 200 both become 1. Scale each answer to its own maximum instead: r = max(1, round(255 × w / max))
 * keeps the ratios to 1/255 precision, and publishing r × 256 makes HAProxy read back exactly r.
 */
export const SRV_WEIGHT_STEPS = 255;

export function srvWeight(effectiveWeight: number, maxEffectiveWeight: number): number {
  if (!(effectiveWeight > 0) || !(maxEffectiveWeight >= effectiveWeight)) {
    throw new Error(`srvWeight: need 0 < weight (${effectiveWeight}) <= max (${maxEffectiveWeight})`);
  }
  const r = Math.max(1, Math.round((SRV_WEIGHT_STEPS * effectiveWeight) / maxEffectiveWeight));
  return r * 256;
}

/** What HAProxy makes of an SRV weight (for tests and docs). */
export function haproxyWeight(srvWeightValue: number): number {
  return Math.floor((srvWeightValue + 255) / 256);
}
