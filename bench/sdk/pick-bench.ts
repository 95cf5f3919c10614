import { type Instance, type Labels, resolveZonePolicy, systemClock, ZonePicker } from '@cairn/client-sdk';

/** A 100-instance view over three zones (34 + 33 + 33), a tenth of them canaries. */
export function threeZoneView(healthyInAz1 = 34): Instance[] {
  const out: Instance[] = [];
  const zones: [string, number][] = [
    ['az1', 34],
    ['az2', 33],
    ['az3', 33],
  ];
  let n = 0;
  for (const [zone, count] of zones) {
    for (let i = 0; i < count; i++, n++) {
      const port = 20_000 + n;
      out.push({
        id: `10.0.${n >> 8}.${n & 255}#${port}#DEFAULT#DEFAULT_GROUP@@orders`,
        namespace: 'public',
        group: 'DEFAULT_GROUP',
        service: 'orders',
        cluster: 'DEFAULT',
        ip: `10.0.${n >> 8}.${n & 255}`,
        port,
        weight: 50 + (n % 5) * 25,
        healthy: zone !== 'az1' || i < healthyInAz1,
        enabled: true,
        zone,
        metadata: { version: n % 10 === 0 ? 'gray' : 'stable' },
        revision: n + 1,
      });
    }
  }
  return out;
}

export interface PickRate {
  readonly bench: 'sdk.picks';
  readonly scenario: string;
  readonly instances: number;
  readonly zones: number;
  readonly mode: string;
  readonly localShare: number;
  readonly picksPerSec: number;
  readonly nsPerPick: number;
}

/** Picks as fast as one thread can for `durationMs` (after a warm-up), counted in batches. */
export function measurePicks(
  scenario: string,
  healthyInAz1: number,
  labels: Labels | undefined,
  durationMs: number,
): PickRate {
  const picker = new ZonePicker({
    policy: resolveZonePolicy('az1'),
    outliers: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectedRatio: 0.1 },
    labelFallback: 'all',
    random: Math.random,
    clock: systemClock,
  });
  const view = threeZoneView(healthyInAz1);
  picker.update(view);
  const batch = 10_000;
  let sink = 0;
  const run = (ms: number): number => {
    let picks = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      for (let i = 0; i < batch; i++) sink += picker.pick(labels)!.port;
      picks += batch;
    }
    return picks;
  };
  run(Math.min(500, durationMs / 2));
  const started = performance.now();
  const picks = run(durationMs);
  const elapsedMs = performance.now() - started;
  if (sink === 0) throw new Error('unreachable: keeps the picks from being optimized away');
  const e = picker.explain(labels);
  return {
    bench: 'sdk.picks',
    scenario,
    instances: view.length,
    zones: 3,
    mode: e.mode,
    localShare: Math.round(e.localShare * 1000) / 1000,
    picksPerSec: Math.round(picks / (elapsedMs / 1000)),
    nsPerPick: Math.round((elapsedMs * 1e6) / picks),
  };
}
