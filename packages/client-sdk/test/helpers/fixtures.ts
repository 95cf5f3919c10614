import type { Instance } from '../../src/instance.js';

/** A seeded uniform random source (mulberry32), so statistical tests replay exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let port = 10_000;

export function instance(over: Partial<Instance> & { zone: string }): Instance {
  const p = over.port ?? port++;
  const ip = over.ip ?? '10.0.0.1';
  const service = over.service ?? 'orders';
  return {
    namespace: 'public',
    group: 'DEFAULT_GROUP',
    service,
    cluster: 'DEFAULT',
    ip,
    port: p,
    weight: 100,
    healthy: true,
    enabled: true,
    metadata: {},
    revision: 1,
    id: `${ip}#${p}#DEFAULT#DEFAULT_GROUP@@${service}`,
    ...over,
  };
}

/** `healthy` of `total` instances in each zone. */
export function fleet(zones: Record<string, [healthy: number, total: number]>, weight = 100): Instance[] {
  const out: Instance[] = [];
  for (const [zone, [healthy, total]] of Object.entries(zones)) {
    for (let i = 0; i < total; i++) out.push(instance({ zone, healthy: i < healthy, weight }));
  }
  return out;
}
