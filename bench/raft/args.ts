import { parseArgs } from 'node:util';

export type SystemName = 'cairn' | 'etcd';

export type RunOrder = 'interleaved' | 'sequential';

export type WriteTarget = 'leader' | 'all';

export interface BenchOptions {
  readonly systems: readonly SystemName[];
  readonly writeTo: WriteTarget;
  readonly order: RunOrder;
  readonly concurrencies: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly skipFailover: boolean;
  readonly failoverSamples: number;
  /** Raft snapshot interval for both systems (cairn snapshotEntries, etcd --snapshot-count). */
  readonly snapshotEntries: number;
  readonly keyCount: number;
  /** When set, cairn replicas run with --cpu-prof and write their profiles here. */
  readonly cpuProfDir: string | undefined;
}

const usage = `usage: npm run bench:raft -- [options]
  --duration S          measured seconds per (system, concurrency), default 8
  --warmup S            warm-up seconds before each measurement, default 1
  --concurrency LIST    comma-separated writes in flight, default 1,16,64,256
  --systems LIST        cairn,etcd (default both)
  --order MODE          interleaved (default: all systems up, taking turns at each concurrency) or sequential
  --write-to WHO        leader (default: every write to the current leader) or all (round-robin, followers forward)
  --skip-failover       skip the leader-kill measurements
  --failover-samples N  leader kills per system, default 3
  --snapshot-entries N  Raft snapshot interval for both systems, default 10000
  --keys N              distinct keys written (cycled), default 10000
  --cpu-prof DIR        run cairn replicas under node --cpu-prof, profiles in DIR`;

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string', default: '8' },
      warmup: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '1,16,64,256' },
      systems: { type: 'string', default: 'cairn,etcd' },
      order: { type: 'string', default: 'interleaved' },
      'write-to': { type: 'string', default: 'leader' },
      'skip-failover': { type: 'boolean', default: false },
      'failover-samples': { type: 'string', default: '3' },
      'snapshot-entries': { type: 'string', default: '10000' },
      keys: { type: 'string', default: '10000' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const systems = values.systems.split(',').map((name) => name.trim());
  for (const name of systems) {
    if (name !== 'cairn' && name !== 'etcd') throw new Error(`unknown system ${name}\n${usage}`);
  }
  if (values.order !== 'interleaved' && values.order !== 'sequential') {
    throw new Error(`--order wants interleaved or sequential, got ${values.order}\n${usage}`);
  }
  const writeTo = values['write-to'];
  if (writeTo !== 'leader' && writeTo !== 'all')
    throw new Error(`--write-to wants leader or all, got ${writeTo}\n${usage}`);
  return {
    systems: systems as SystemName[],
    writeTo,
    order: values.order,
    concurrencies: values.concurrency.split(',').map((c) => positiveInt('--concurrency', c)),
    durationMs: positiveNumber('--duration', values.duration) * 1000,
    warmupMs: nonNegativeNumber('--warmup', values.warmup) * 1000,
    skipFailover: values['skip-failover'],
    failoverSamples: positiveInt('--failover-samples', values['failover-samples']),
    snapshotEntries: positiveInt('--snapshot-entries', values['snapshot-entries']),
    keyCount: positiveInt('--keys', values.keys),
    cpuProfDir: values['cpu-prof'],
  };
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} wants a positive number, got ${text}`);
  return value;
}

function nonNegativeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${flag} wants a number >= 0, got ${text}`);
  return value;
}

function positiveInt(flag: string, text: string): number {
  const value = positiveNumber(flag, text);
  if (!Number.isInteger(value)) throw new Error(`${flag} wants an integer, got ${text}`);
  return value;
}
