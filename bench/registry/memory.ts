import { closedLoop } from './closed-loop.js';
import { expectOk, type ReplicaPools, sendJson } from './http.js';
import { registerBody } from './instances.js';
import { mib, rssBytes } from './proc-memory.js';
import { emit, latencySummary, PerProcessCpu, progress, round } from './report.js';
import type { RegistryZone } from './zone.js';

/**
 * Persistent instances (100 per service) registered at 256 in flight over all replicas until `target` are
 * held or `budgetMs` has passed; RSS of each replica before and after (after a short settle).
 */
export async function measureMemory(
  zone: RegistryZone,
  pools: ReplicaPools,
  target: number,
  budgetMs: number,
  alreadyHeld: number,
): Promise<void> {
  const origins = zone.origins;
  const replicas = zone.running();
  const before = Object.fromEntries(replicas.map((replica) => [replica.id, rssBytes(zone.pidOf(replica)) ?? 0]));
  const cpu = new PerProcessCpu(new Map(replicas.map((replica) => [replica.id, zone.pidOf(replica)])));
  cpu.start();
  const offset = 20_000_000;
  const reporter = setInterval(() => progress(`memory: registering...`), 15_000);
  const result = await closedLoop(
    256,
    budgetMs,
    async (n) => {
      await expectOk(
        sendJson(
          pools.pool(origins[n % origins.length]!),
          'POST',
          '/v1/instances',
          registerBody(`bench-mem-${Math.floor(n / 100)}`, offset + n, { ephemeral: false }),
        ),
        'register',
      );
    },
    target,
  ).finally(() => clearInterval(reporter));
  const used = cpu.stop();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = Object.fromEntries(replicas.map((replica) => [replica.id, rssBytes(zone.pidOf(replica)) ?? 0]));
  const held = alreadyHeld + result.ok;
  emit({
    measurement: 'memory',
    targetInstances: target,
    registeredHere: result.ok,
    failed: result.failed,
    ...(result.firstError === undefined ? {} : { firstError: result.firstError }),
    reachedTarget: result.ok >= target,
    instancesHeldApprox: held,
    seconds: round(result.elapsedMs / 1000, 1),
    registrationsPerS: Math.round(result.ok / (result.elapsedMs / 1000)),
    ...latencySummary(result.histogram),
    rssMiBBefore: Object.fromEntries(Object.entries(before).map(([id, b]) => [id, mib(b)])),
    rssMiBAfter: Object.fromEntries(Object.entries(after).map(([id, b]) => [id, mib(b)])),
    rssBytesPerInstanceAdded: Object.fromEntries(
      Object.entries(after).map(([id, b]) => [id, Math.round((b - (before[id] ?? 0)) / Math.max(1, result.ok))]),
    ),
    rssBytesPerInstanceHeld: Object.fromEntries(
      Object.entries(after).map(([id, b]) => [id, Math.round(b / Math.max(1, held))]),
    ),
    cpuSByReplica: Object.fromEntries(Object.entries(used).map(([id, s]) => [id, round(s)])),
    note: '1M instances not tried by default (pass --instances 1000000 --memory-budget S)',
  });
}
