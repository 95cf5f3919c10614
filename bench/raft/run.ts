/**
 * `npm run bench:raft`: cairn's Raft (three kv-server replicas) against a three-member etcd 3.4, both on
 * 127.0.0.1 with synced storage and the same Raft timing (100 ms heartbeat, 1 s election timeout).
 *
 * For each system and each concurrency C: closed-loop writes of ~300-byte instance records to the current
 * leader for a warm-up and a measured window; one JSON line with throughput, latency percentiles, errors,
 * and CPU (servers, load generator, everything else: all of it shares the machine's cores). Then leader
 * failover: SIGKILL the leader under light write load through the other members, time to the next
 * acknowledged write, median of N. Last, a summary line with cairn/etcd ratios.
 *
 * Output is JSON lines on stdout; diagnostics go to stderr. Servers and temp dirs are removed on any exit.
 */
import { cpus } from 'node:os';
import { type BenchOptions, parseBenchArgs, type SystemName } from './args.js';
import type { BenchSystem } from './bench-system.js';
import { CairnCluster } from './cairn-cluster.js';
import { installCleanupHandlers } from './cleanup.js';
import { CpuMeter, type CpuUsage } from './cpu-meter.js';
import { EtcdCluster } from './etcd.js';
import { type FailoverSample, measureFailover } from './failover.js';
import { type LoadResult, runLoad } from './load.js';
import { sleep } from './wait.js';

const startTimeoutMs = 30_000;
const restartTimeoutMs = 30_000;
const requestTimeoutMs = 10_000;
/** Pause between runs so one run's tail (compaction, snapshot) lands outside the next run's window. */
const settleMs = 500;

interface RunLine extends LoadResult, CpuUsage {
  readonly system: SystemName;
  readonly concurrency: number;
  readonly serverCpuSPer1kOps: number | null;
  readonly leaderChanged: boolean;
}

interface FailoverLine {
  readonly system: SystemName;
  readonly failover: true;
  readonly failoverMs: number;
  readonly samplesMs: number[];
  readonly samples: FailoverSample[];
}

function emit(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function createSystem(name: SystemName, options: BenchOptions): BenchSystem {
  return name === 'cairn'
    ? new CairnCluster({ snapshotEntries: options.snapshotEntries, cpuProfDir: options.cpuProfDir })
    : new EtcdCluster({ snapshotEntries: options.snapshotEntries });
}

async function measureThroughput(system: BenchSystem, concurrency: number, options: BenchOptions): Promise<RunLine> {
  const leader = await system.findLeader();
  // 'all': followers take client HTTP off the leader and forward the proposals (cairn) or requests (etcd).
  const targets = options.writeTo === 'leader' ? [leader] : system.members;
  const meter = new CpuMeter(system.serverPids());
  let cpu: CpuUsage | undefined;
  const result = await runLoad({
    system,
    targets,
    concurrency,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    keyCount: options.keyCount,
    keyPrefix: 'instance-',
    requestTimeoutMs,
    onMeasureStart: () => meter.start(),
    onMeasureEnd: () => {
      cpu = meter.stop();
    },
  });
  if (cpu === undefined) throw new Error('the measured window never closed');
  const leaderAfter = await system.findLeader();
  // The headline fields first, in the documented order; detail after.
  const { opsPerSec, p50Ms, p99Ms, errors, durationS, ...detail } = result;
  return {
    system: system.name,
    concurrency,
    opsPerSec,
    p50Ms,
    p99Ms,
    errors,
    durationS,
    ...detail,
    ...cpu,
    serverCpuSPer1kOps: result.ops === 0 ? null : Math.round((cpu.serverCpuS / result.ops) * 1000 * 1000) / 1000,
    leaderChanged: leaderAfter.id !== leader.id,
  };
}

async function measureFailovers(system: BenchSystem, options: BenchOptions): Promise<FailoverLine> {
  const samples: FailoverSample[] = [];
  for (let i = 0; i < options.failoverSamples; i++) {
    const sample = await measureFailover(system, {
      probeIntervalMs: 10,
      steadyMs: 1000,
      giveUpMs: 20_000,
      keyPrefix: `failover-${i}-`,
    });
    samples.push(sample);
    await system.restart(sample.killedLeader, restartTimeoutMs);
    await system.waitReady(startTimeoutMs);
    await sleep(settleMs);
  }
  const samplesMs = samples.map((sample) => sample.failoverMs);
  return { system: system.name, failover: true, failoverMs: median(samplesMs), samplesMs, samples };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface SystemResults {
  readonly runs: RunLine[];
  failover?: FailoverLine;
}

/**
 * Interleaved (the default): every system is up for the whole run and the systems take turns at each
 * concurrency, so a neighbour's load on the shared machine hits both alike. Sequential: one system at a time.
 */
async function benchSystems(options: BenchOptions): Promise<Map<SystemName, SystemResults>> {
  const results = new Map<SystemName, SystemResults>();
  if (options.order === 'interleaved') {
    await withSystems(options.systems, options, (systems) => measureAll(systems, options, results));
  } else {
    for (const name of options.systems) {
      await withSystems([name], options, (systems) => measureAll(systems, options, results));
    }
  }
  return results;
}

async function measureAll(
  systems: readonly BenchSystem[],
  options: BenchOptions,
  results: Map<SystemName, SystemResults>,
): Promise<void> {
  for (const system of systems) results.set(system.name, { runs: [] });
  for (const concurrency of options.concurrencies) {
    for (const system of systems) {
      const line = await measureThroughput(system, concurrency, options);
      emit(line);
      results.get(system.name)!.runs.push(line);
      await sleep(settleMs);
    }
  }
  if (options.skipFailover) return;
  for (const system of systems) {
    const failover = await measureFailovers(system, options);
    emit(failover);
    results.get(system.name)!.failover = failover;
  }
}

/** Starts the systems, runs `body`, and closes them whatever happens, with their logs on failure. */
async function withSystems(
  names: readonly SystemName[],
  options: BenchOptions,
  body: (systems: readonly BenchSystem[]) => Promise<void>,
): Promise<void> {
  const systems = names.map((name) => createSystem(name, options));
  try {
    for (const system of systems) await system.start();
    for (const system of systems) await system.waitReady(startTimeoutMs);
    await body(systems);
  } catch (error) {
    for (const system of systems) {
      process.stderr.write(`bench: ${system.name} servers' last log lines:\n${system.logTails()}\n`);
    }
    throw error;
  } finally {
    await Promise.all(systems.map((system) => system.close()));
  }
}

function ratio(numerator: number | undefined, denominator: number | undefined): number | null {
  if (numerator === undefined || denominator === undefined || denominator === 0) return null;
  return Math.round((numerator / denominator) * 100) / 100;
}

function summary(results: Map<SystemName, SystemResults>): object {
  const run = (system: SystemName, concurrency: number) =>
    results.get(system)?.runs.find((line) => line.concurrency === concurrency);
  return {
    summary: true,
    throughputRatioC64: ratio(run('cairn', 64)?.opsPerSec, run('etcd', 64)?.opsPerSec),
    throughputRatioC256: ratio(run('cairn', 256)?.opsPerSec, run('etcd', 256)?.opsPerSec),
    p99RatioC64: ratio(run('cairn', 64)?.p99Ms, run('etcd', 64)?.p99Ms),
    failoverMs: results.get('cairn')?.failover?.failoverMs ?? null,
    etcdFailoverMs: results.get('etcd')?.failover?.failoverMs ?? null,
    // High values mean other work on the machine competed with the servers: the ratios are less reliable.
    otherCpuPctMax: Math.max(0, ...[...results.values()].flatMap((r) => r.runs.map((line) => line.otherCpuPct))),
  };
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const options = parseBenchArgs(process.argv.slice(2));
  const quietCheck = new CpuMeter([]);
  quietCheck.start();
  await sleep(1000);
  emit({
    bench: 'raft',
    writesTo: options.writeTo,
    note:
      options.writeTo === 'leader'
        ? 'closed-loop writes, all sent to the current leader of each system; 3-member clusters on 127.0.0.1'
        : 'closed-loop writes spread round-robin over all members (followers forward); 3-member clusters on 127.0.0.1',
    order: options.order,
    cores: cpus().length,
    // Everything shares the machine: CPU already busy before the bench starts skews both systems.
    machineBusyBeforePct: quietCheck.stop().machineBusyPct,
    cpuPctUnit: 'percent of one core, except machineBusyPct (of all cores)',
    durationS: options.durationMs / 1000,
    warmupS: options.warmupMs / 1000,
    concurrency: options.concurrencies,
    keys: options.keyCount,
    snapshotEntries: options.snapshotEntries,
  });
  emit(summary(await benchSystems(options)));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
