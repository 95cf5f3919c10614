import { LIMITS } from '../../registry/model.js';
import { badRequest } from './nacos-params.js';

/**
 * Nacos weights are doubles (default 1.0, valid 0.0-10000.0); cairn weights are integers 0-10000.
 * The mapping, the same in both directions:
 *
 *   cairn weight = round(nacosWeight * 100)      nacosWeight = cairn weight / 100
 *
 * so Nacos 1.0 is cairn 100 (cairn's own default), Nacos 0.5 is cairn 50, and Nacos weights keep two
 * decimals. Nacos weights above 100.0 do not fit cairn's range and are refused with a 400 that says
 * so (Nacos itself accepts up to 10000.0); weights between 0 and 0.005 round to 0 (no traffic).
 */
export const CAIRN_WEIGHT_PER_NACOS_WEIGHT = 100;
export const NACOS_WEIGHT_MAX = LIMITS.weightMax / CAIRN_WEIGHT_PER_NACOS_WEIGHT;

export function cairnWeightOf(nacosWeight: number): number {
  if (!(nacosWeight >= 0 && nacosWeight <= 10_000)) {
    throw badRequest('instance format invalid: The weights range from 0.0 to 10000.0');
  }
  if (nacosWeight > NACOS_WEIGHT_MAX) {
    throw badRequest(
      `instance format invalid: weight ${nacosWeight} is above ${NACOS_WEIGHT_MAX.toFixed(1)}, the largest weight ` +
        `this registry stores (cairn weight = round(nacos weight * ${CAIRN_WEIGHT_PER_NACOS_WEIGHT}), at most ${LIMITS.weightMax})`,
    );
  }
  return Math.round(nacosWeight * CAIRN_WEIGHT_PER_NACOS_WEIGHT);
}

export function nacosWeightOf(cairnWeight: number): number {
  return cairnWeight / CAIRN_WEIGHT_PER_NACOS_WEIGHT;
}
