import type { Instance } from '../../registry/model.js';
import { GROUP_SEPARATOR } from './nacos-names.js';
import { nacosWeightOf } from './nacos-weight.js';

/**
 * Nacos answers are Jackson output: doubles always carry a decimal point (`"weight":1.0`). JSON.stringify
 * would write `1`, which typed clients accept but which is not what Nacos sends, so the answers with
 * doubles are written here field by field (strings and maps still go through JSON.stringify).
 */

/** A double as Java's Double.toString writes the values we send (weights, thresholds): 1 -> "1.0". */
export function javaDouble(n: number): string {
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

const s = (v: string): string => JSON.stringify(v);

/** One host of an instance list (Nacos's api Instance). `healthy` may be overridden by the protect threshold. */
export function hostJson(inst: Instance, healthy: boolean): string {
  const grouped = `${inst.group}${GROUP_SEPARATOR}${inst.service}`;
  return (
    `{"instanceId":${s(inst.id)},"ip":${s(inst.ip)},"port":${inst.port},` +
    `"weight":${javaDouble(nacosWeightOf(inst.weight))},"healthy":${healthy},"enabled":${inst.enabled},` +
    `"ephemeral":${inst.ephemeral},"clusterName":${s(inst.cluster)},"serviceName":${s(grouped)},` +
    `"metadata":${JSON.stringify(inst.metadata)},"instanceHeartBeatInterval":${inst.heartbeat.intervalMs},` +
    `"instanceHeartBeatTimeOut":${inst.heartbeat.unhealthyAfterMs},"ipDeleteTimeout":${inst.heartbeat.expireAfterMs},` +
    `"instanceIdGenerator":"simple"}`
  );
}

/** GET /nacos/v1/ns/instance: one instance in detail. */
export function instanceDetailJson(inst: Instance): string {
  const grouped = `${inst.group}${GROUP_SEPARATOR}${inst.service}`;
  return (
    `{"service":${s(grouped)},"ip":${s(inst.ip)},"port":${inst.port},"clusterName":${s(inst.cluster)},` +
    `"weight":${javaDouble(nacosWeightOf(inst.weight))},"healthy":${inst.healthy},"instanceId":${s(inst.id)},` +
    `"metadata":${JSON.stringify(inst.metadata)}}`
  );
}
