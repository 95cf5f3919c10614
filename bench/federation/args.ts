import { parseArgs } from 'node:util';

export const MEASUREMENTS = ['propagation', 'scale'] as const;
export type MeasurementName = (typeof MEASUREMENTS)[number];

export interface FederationBenchOptions {
  readonly only: ReadonlySet<MeasurementName>;
  readonly zones: number;
  /** Replicas per zone: 1 (default: fits 100,000 instances per zone on a laptop) or 3. */
  readonly replicas: number;
  /** Registrations timed from acknowledgement to appearance, per propagation run. */
  readonly samples: number;
  readonly instancesPerZone: number;
  /** Registrations in flight per zone while loading. */
  readonly concurrency: number;
  readonly loadBudgetMs: number;
  readonly convergeTimeoutMs: number;
  /** Instance updates applied while the federation runs at scale, over all zones. */
  readonly changes: number;
}

const usage = `usage: npm run bench:federation -- [options]
  --only LIST                comma-separated subset of ${MEASUREMENTS.join(',')} (default both)
  --zones N                  zones, default 3
  --replicas N               replicas per zone, 1 (default) or 3
  --samples N                registrations timed to the federation's REST view and DNS, default 200
  --instances-per-zone N     persistent instances loaded into each zone for the scale run, default 100000
  --concurrency N            registrations in flight per zone while loading, default 64
  --load-budget S            seconds loading may take before the scale run goes on with what it has, default 1800
  --converge-timeout S       seconds the federation may take to hold every instance, default 600
  --changes N                instance updates applied at scale (CPU per applied change), default 3000

Output: one JSON line per measurement on stdout, then a summary line; progress on stderr.
propagation: from the zone's answer to POST /v1/instances to the instance showing in the federation's
  REST view (tight poll of GET /v1/services/...) and in its DNS answers (tight SRV queries over UDP).
  Run on empty zones, and again with the federation at scale when scale runs too.
scale: zones loaded first, then a new federation node started; time until it holds every instance,
  its RSS and CPU (from /proc) per instance, then CPU per applied change.`;

export function parseFederationBenchArgs(argv: readonly string[]): FederationBenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      only: { type: 'string', default: MEASUREMENTS.join(',') },
      zones: { type: 'string', default: '3' },
      replicas: { type: 'string', default: '1' },
      samples: { type: 'string', default: '200' },
      'instances-per-zone': { type: 'string', default: '100000' },
      concurrency: { type: 'string', default: '64' },
      'load-budget': { type: 'string', default: '1800' },
      'converge-timeout': { type: 'string', default: '600' },
      changes: { type: 'string', default: '3000' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const only = new Set<MeasurementName>();
  for (const name of values.only.split(',').map((n) => n.trim())) {
    if (!(MEASUREMENTS as readonly string[]).includes(name)) throw new Error(`unknown measurement ${name}\n${usage}`);
    only.add(name as MeasurementName);
  }
  const replicas = positiveInt('--replicas', values.replicas);
  if (replicas !== 1 && replicas !== 3) throw new Error(`--replicas must be 1 or 3, got ${replicas}`);
  const zones = positiveInt('--zones', values.zones);
  const instancesPerZone = positiveInt('--instances-per-zone', values['instances-per-zone']);
  if (instancesPerZone > 1_000_000)
    throw new Error(`--instances-per-zone must be at most 1000000, got ${instancesPerZone}`);
  if (zones > 9) throw new Error(`--zones must be at most 9, got ${zones}`);
  return {
    only,
    zones,
    replicas,
    samples: positiveInt('--samples', values.samples),
    instancesPerZone,
    concurrency: positiveInt('--concurrency', values.concurrency),
    loadBudgetMs: positiveInt('--load-budget', values['load-budget']) * 1000,
    convergeTimeoutMs: positiveInt('--converge-timeout', values['converge-timeout']) * 1000,
    changes: positiveInt('--changes', values.changes),
  };
}

function positiveInt(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} wants a positive integer, got ${text}`);
  return value;
}
