import { parseArgs } from 'node:util';

export const MEASUREMENTS = [
  'registrations',
  'reads',
  'renewals',
  'push',
  'failure-detection',
  'write-unavailability',
  'memory',
] as const;

export type MeasurementName = (typeof MEASUREMENTS)[number];

export interface RegistryBenchOptions {
  readonly only: ReadonlySet<MeasurementName>;
  readonly subscribers: number;
  /** Instances the memory measurement aims for. */
  readonly instances: number;
  /** How long the memory measurement may spend registering. */
  readonly memoryBudgetMs: number;
  /** Measured seconds of each throughput measurement. */
  readonly durationMs: number;
  readonly failoverSamples: number;
  /** Raft tick passed to the replicas; undefined keeps the server default. */
  readonly tickMs: number | undefined;
  /** When set, replicas run under node --cpu-prof and write profiles here when stopped (not when killed). */
  readonly cpuProfDir: string | undefined;
}

const usage = `usage: npm run bench:registry -- [options]
  --only LIST           comma-separated subset of ${MEASUREMENTS.join(',')} (default all)
  --subscribers N       WebSocket subscribers for the push measurement, default 2000 (the issue asks for 10000)
  --instances N         instances for the memory measurement, default 100000 (1000000 to try 1M)
  --memory-budget S     seconds the memory measurement may spend registering, default 60
  --duration S          measured seconds of each throughput measurement, default 8
  --failover-samples N  leader kills, default 3
  --tick-ms MS          Raft tick of the replicas (default: the server's default)
  --cpu-prof DIR        run the replicas under node --cpu-prof, profiles in DIR
                        (summarize with: node bench/dist/raft/profile-summary.js DIR [topN] [lastS])

Without HTTP (one replica's registry and Raft node in-process; CPU per registration, heap and RSS per
instance, longest event-loop stall while snapshotting and restoring):
  node --expose-gc bench/dist/registry/in-process.js [--instances N] [--snapshot-entries N] [--root DIR]`;

export function parseRegistryBenchArgs(argv: readonly string[]): RegistryBenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      only: { type: 'string', default: MEASUREMENTS.join(',') },
      subscribers: { type: 'string', default: '2000' },
      instances: { type: 'string', default: '100000' },
      'memory-budget': { type: 'string', default: '60' },
      duration: { type: 'string', default: '8' },
      'failover-samples': { type: 'string', default: '3' },
      'tick-ms': { type: 'string' },
      'cpu-prof': { type: 'string' },
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
  return {
    only,
    subscribers: positiveInt('--subscribers', values.subscribers),
    instances: positiveInt('--instances', values.instances),
    memoryBudgetMs: positiveNumber('--memory-budget', values['memory-budget']) * 1000,
    durationMs: positiveNumber('--duration', values.duration) * 1000,
    failoverSamples: positiveInt('--failover-samples', values['failover-samples']),
    tickMs: values['tick-ms'] === undefined ? undefined : positiveInt('--tick-ms', values['tick-ms']),
    cpuProfDir: values['cpu-prof'],
  };
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} wants a positive number, got ${text}`);
  return value;
}

function positiveInt(flag: string, text: string): number {
  const value = positiveNumber(flag, text);
  if (!Number.isInteger(value)) throw new Error(`${flag} wants an integer, got ${text}`);
  return value;
}
