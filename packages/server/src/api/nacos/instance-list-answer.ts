import { createHash } from 'node:crypto';
import { GROUP_SEPARATOR, javaSplit, type NacosServiceName } from './nacos-names.js';

/** What one `instance/list` read (or one UDP push) asks for. */
export interface InstanceListQuery {
  readonly namespace: string;
  readonly name: NacosServiceName;
  /** Exactly as the client sent it: echoed back, since clients key their caches by `name@@clusters`. */
  readonly clusters: string;
  readonly healthyOnly: boolean;
  /** How long the client may cache the answer before polling again. */
  readonly cacheMillis: number;
}

interface Listable {
  readonly enabled: boolean;
  readonly cluster: string;
  readonly healthy: boolean;
}

/** The enabled instances of the requested clusters (all when none are named), and how many are healthy. */
export function listedInstances<I extends Listable>(
  instances: Iterable<I>,
  q: InstanceListQuery,
): { readonly all: I[]; readonly healthyCount: number } {
  const clusters = q.clusters.trim() === '' ? null : new Set(javaSplit(q.clusters, ','));
  const all: I[] = [];
  let healthyCount = 0;
  for (const inst of instances) {
    if (!inst.enabled || (clusters && !clusters.has(inst.cluster))) continue;
    all.push(inst);
    if (inst.healthy) healthyCount++;
  }
  return { all, healthyCount };
}

/** The `instance/list` answer around hosts already written as Nacos JSON, with their checksum. */
export function instanceListAnswerJson(
  q: InstanceListQuery,
  hosts: readonly string[],
  protect: boolean,
  nowMs: number,
): string {
  const hostsJson = `[${hosts.join(',')}]`;
  const checksum = createHash('md5').update(hostsJson).digest('hex');
  return (
    `{"name":${JSON.stringify(`${q.name.group}${GROUP_SEPARATOR}${q.name.service}`)},` +
    `"groupName":${JSON.stringify(q.name.group)},"clusters":${JSON.stringify(q.clusters)},` +
    `"cacheMillis":${q.cacheMillis},"hosts":${hostsJson},"lastRefTime":${nowMs},"checksum":"${checksum}",` +
    `"allIPs":false,"reachProtectionThreshold":${protect},"valid":true}`
  );
}
