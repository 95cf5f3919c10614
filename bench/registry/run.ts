// `npm run bench:registry`: a 3-replica zone of real `cairn server` processes on 127.0.0.1, measured
// one thing at a time; one JSON line per measurement on stdout, then a summary line.
import { cpus, totalmem } from 'node:os';
import { installCleanupHandlers } from '../raft/cleanup.js';
import { parseRegistryBenchArgs } from './args.js';
import { measureFailureDetection } from './failure-detection.js';
import { ReplicaPools } from './http.js';
import { measureMemory } from './memory.js';
import { measurePush } from './push.js';
import { measureRenewals } from './renewals.js';
import { emit, progress } from './report.js';
import { measureReads, measureRegistrations } from './throughput.js';
import { measureWriteUnavailability } from './write-unavailability.js';
import { RegistryZone } from './zone.js';

async function main(): Promise<void> {
  const options = parseRegistryBenchArgs(process.argv.slice(2));
  installCleanupHandlers();
  const startedAt = performance.now();
  const zone = new RegistryZone(options.tickMs, options.cpuProfDir);
  const done: string[] = [];
  const failed: Record<string, string> = {};
  progress('starting a 3-replica zone');
  await zone.start();
  let pools = new ReplicaPools(zone.origins, 32);
  let held = 0;
  const step = async (name: string, body: () => Promise<void>): Promise<void> => {
    if (!options.only.has(name as never)) return;
    progress(`${name}...`);
    try {
      await body();
      done.push(name);
    } catch (error) {
      failed[name] = error instanceof Error ? error.message : String(error);
      progress(`${name} failed: ${failed[name]}\n${zone.logTails()}`);
    }
  };
  try {
    emit({
      measurement: 'setup',
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryMiB: Math.round(totalmem() / 1024 / 1024),
      replicas: zone.origins.length,
      leader: (await zone.leader()).id,
      tickMs: options.tickMs ?? 'server default',
      durationS: options.durationMs / 1000,
    });
    await step('registrations', async () => {
      held += (await measureRegistrations(zone, pools, options.durationMs)).registered;
    });
    await step('reads', () => measureReads(zone, pools, options.durationMs));
    await step('renewals', () => measureRenewals(zone, pools, Math.min(options.durationMs, 5000)));
    await step('push', () => measurePush(zone, pools, options.subscribers));
    await step('failure-detection', () => measureFailureDetection(zone, pools));
    await step('memory', async () => {
      await measureMemory(zone, pools, options.instances, options.memoryBudgetMs, held);
    });
    // Last: it kills and restarts replicas (the restarted one replays everything registered before).
    await step('write-unavailability', async () => {
      await pools.close();
      // Many connections: requests stuck on the killed leader must not queue the later ones.
      pools = new ReplicaPools(zone.origins, 512);
      await measureWriteUnavailability(zone, pools, options.failoverSamples);
    });
  } finally {
    await pools.close();
    await zone.close();
  }
  emit({
    measurement: 'summary',
    done,
    failed,
    skipped: ['1M instances (use --instances 1000000)'],
    totalSeconds: Math.round((performance.now() - startedAt) / 1000),
  });
  if (Object.keys(failed).length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:registry failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
  process.exit(1);
});
